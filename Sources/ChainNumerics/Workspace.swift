/// Reusable scratch buffers for a computation called once per step: slot k holds one
/// 64-byte-aligned float buffer that grows to the largest size asked for and is never freed
/// before the workspace, so a step in steady state allocates nothing.
///
/// Every `zeroed` call hands out the first `count` floats of its slot set to 0, as a fresh
/// `Tensor` would be, so a computation gives the same result with or without a reused
/// workspace.
public final class Workspace: @unchecked Sendable {
    private var slots: [Tensor] = []

    public init() {}

    /// Slot `slot`'s buffer, at least `count` floats, the first `count` of them zero.
    public func zeroed(_ slot: Int, count: Int) -> UnsafeMutablePointer<Float> {
        while slots.count <= slot { slots.append(Tensor(shape: [0])) }
        if slots[slot].count < count {
            slots[slot] = Tensor(shape: [count])
        } else {
            slots[slot].pointer.update(repeating: 0, count: count)
        }
        return slots[slot].pointer
    }
}

/// An owned, 64-byte-aligned, contiguous float32 buffer with a row-major shape.
///
/// `Tensor` is the storage type of the engine: parameters, gradients, activations and
/// workspaces are all tensors (or named views into one). It is a reference type because
/// its memory is shared by views and must be freed exactly once; the layers work on its
/// raw `pointer` (llm.c style), so there is no copy-on-write or bounds checking in hot loops.
public final class Tensor: @unchecked Sendable {
    /// Row-major extents; their product is `count`.
    public let shape: [Int]
    /// Number of elements.
    public let count: Int
    /// The first element. Valid for `count` elements for the tensor's lifetime.
    public let pointer: UnsafeMutablePointer<Float>

    /// A zero-filled tensor of the given shape.
    public init(shape: [Int]) {
        precondition(shape.allSatisfy { $0 >= 0 }, "Tensor: negative extent in \(shape)")
        self.shape = shape
        self.count = shape.reduce(1, *)
        let raw = UnsafeMutableRawPointer.allocate(
            byteCount: max(count, 1) * MemoryLayout<Float>.stride,
            alignment: 64)
        pointer = raw.bindMemory(to: Float.self, capacity: max(count, 1))
        pointer.initialize(repeating: 0, count: max(count, 1))
    }

    /// A tensor holding `values` (whose count must match the shape).
    public convenience init(shape: [Int], values: [Float]) {
        self.init(shape: shape)
        precondition(values.count == count, "Tensor: \(values.count) values for shape \(shape)")
        values.withUnsafeBufferPointer { pointer.update(from: $0.baseAddress!, count: count) }
    }

    deinit { UnsafeMutableRawPointer(pointer).deallocate() }

    /// The elements as a mutable buffer.
    public var buffer: UnsafeMutableBufferPointer<Float> { .init(start: pointer, count: count) }

    /// Element `i` of the flattened tensor.
    public subscript(i: Int) -> Float {
        get { precondition(i >= 0 && i < count); return pointer[i] }
        set { precondition(i >= 0 && i < count); pointer[i] = newValue }
    }

    /// Sets every element to `value`.
    public func fill(_ value: Float) { pointer.update(repeating: value, count: count) }

    /// Copies all elements of `other`, which must have the same element count.
    public func copy(from other: Tensor) {
        precondition(other.count == count, "Tensor.copy: \(other.count) != \(count)")
        pointer.update(from: other.pointer, count: count)
    }

    /// A copy of the elements as an array (for tests and reporting, not hot paths).
    public func toArray() -> [Float] { Array(buffer) }
}

import ChainNumerics

/// How a parameter tensor is filled before training.
public enum Initializer: Sendable, Equatable {
    case zeros
    case ones
    /// N(0, std²).
    case normal(std: Float)
    /// U(−bound, bound).
    case uniform(bound: Float)
    /// PyTorch's nn.Linear default for a weight or bias: U(±1/√fanIn).
    case fanIn(Int)
    /// Xavier/Glorot uniform: U(±√(6/(fanIn+fanOut))).
    case xavier(fanIn: Int, fanOut: Int)
}

/// A named view into a model's flat parameter buffer: where it starts, its shape, how it
/// is initialised and whether weight decay applies to it.
public struct Parameter: Sendable, Equatable {
    public let name: String
    public let offset: Int
    public let shape: [Int]
    public let count: Int
    public let initializer: Initializer
    public let decays: Bool
}

/// Builds the layout of the flat parameter buffer while a model is constructed.
///
/// Layers call `add` in their initialisers; the finished layout is turned into a
/// `ParameterStore`, which allocates one contiguous buffer for all values and one for all
/// gradients. Offsets are aligned to 16 floats so every parameter starts on a cache line.
public struct ParameterLayout: Sendable {
    public private(set) var parameters: [Parameter] = []
    public private(set) var count = 0

    public init() {}

    /// Reserves a parameter; names must be unique within the model.
    public mutating func add(
        _ name: String, shape: [Int], initializer: Initializer,
        decays: Bool = true
    ) -> Parameter {
        precondition(!parameters.contains { $0.name == name }, "duplicate parameter name \(name)")
        let n = shape.reduce(1, *)
        let p = Parameter(
            name: name, offset: count, shape: shape, count: n,
            initializer: initializer, decays: decays)
        parameters.append(p)
        count += (n + 15) / 16 * 16
        return p
    }
}

/// All parameters of a model in one flat buffer, and all gradients in a parallel one.
///
/// Because the buffers are flat, all-reducing gradients, broadcasting parameters and
/// writing checkpoints are single calls over `values` / `gradients`. Padding between
/// parameters is always zero (gradients there stay zero), so whole-buffer operations are exact.
public final class ParameterStore: @unchecked Sendable {
    public let layout: ParameterLayout
    public let values: Tensor
    public let gradients: Tensor

    public init(layout: ParameterLayout) {
        self.layout = layout
        values = Tensor(shape: [layout.count])
        gradients = Tensor(shape: [layout.count])
    }

    /// A store that reads `other`'s parameter values (the same buffer) but accumulates into a
    /// gradient buffer of its own, zeroed: what a worker thread uses for its share of a batch
    /// before the workers' gradients are summed.
    public init(sharingValuesOf other: ParameterStore) {
        layout = other.layout
        values = other.values
        gradients = Tensor(shape: [other.layout.count])
    }

    /// Adds `other`'s gradients in `range` (of the flat buffer) into this store's, and zeroes
    /// them in `other`.
    public func accumulateGradients(from other: ParameterStore, range: Range<Int>) {
        let source = other.gradients.pointer + range.lowerBound
        VectorMath.add(source, into: gradients.pointer + range.lowerBound, count: range.count)
        source.update(repeating: 0, count: range.count)
    }

    /// Number of real (unpadded) parameters.
    public var parameterCount: Int { layout.parameters.reduce(0) { $0 + $1.count } }

    @inline(__always) public func value(_ p: Parameter) -> UnsafeMutablePointer<Float> { values.pointer + p.offset }
    @inline(__always) public func gradient(_ p: Parameter) -> UnsafeMutablePointer<Float> {
        gradients.pointer + p.offset
    }

    /// The parameter called `name`, if any.
    public func parameter(named name: String) -> Parameter? { layout.parameters.first { $0.name == name } }

    /// Fills every parameter from its initializer, each from its own child generator keyed
    /// by the parameter's name (so adding a layer does not change the others' values).
    public func initialize(_ rng: Philox) {
        for p in layout.parameters {
            var g = rng.split(p.name)
            let v = value(p)
            switch p.initializer {
            case .zeros: v.update(repeating: 0, count: p.count)
            case .ones: v.update(repeating: 1, count: p.count)
            case .normal(let std): for i in 0..<p.count { v[i] = std * g.nextGaussian() }
            case .uniform(let b): for i in 0..<p.count { v[i] = g.nextUniform(-b, b) }
            case .fanIn(let fanIn):
                let b = 1 / Float(fanIn).squareRoot()
                for i in 0..<p.count { v[i] = g.nextUniform(-b, b) }
            case .xavier(let fanIn, let fanOut):
                let b = (6 / Float(fanIn + fanOut)).squareRoot()
                for i in 0..<p.count { v[i] = g.nextUniform(-b, b) }
            }
        }
    }

    /// Sets all gradients to zero (call before each step's backward passes).
    public func zeroGradients() { gradients.fill(0) }
}

import ChainNumerics

/// A fully connected layer y = x·Wᵀ + b over the rows of a matrix.
///
/// W is stored [out, in] (PyTorch's layout). Forward and backward are single sgemm calls;
/// backward *accumulates* into the parameter gradients, so one layer may be used by several
/// passes (two views, an order pass) in a step.
public struct Linear: Sendable {
    public let inputSize: Int
    public let outputSize: Int
    public let weight: Parameter
    public let bias: Parameter?

    public init(
        _ name: String, inputSize: Int, outputSize: Int, bias: Bool = true,
        weightInit: Initializer? = nil, weightDecays: Bool = true, layout: inout ParameterLayout
    ) {
        self.inputSize = inputSize
        self.outputSize = outputSize
        weight = layout.add(
            "\(name).weight", shape: [outputSize, inputSize],
            initializer: weightInit ?? .fanIn(inputSize), decays: weightDecays)
        self.bias =
            bias
            ? layout.add(
                "\(name).bias", shape: [outputSize], initializer: .fanIn(inputSize),
                decays: false) : nil
    }

    /// y[rows, out] = x[rows, in] · Wᵀ + b, or y += x · Wᵀ + b with `accumulate`.
    public func forward(
        _ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, rows: Int,
        _ params: ParameterStore, accumulate: Bool = false
    ) {
        if let bias {
            let b = params.value(bias)
            for r in 0..<rows {
                if accumulate {
                    VectorMath.add(b, into: y + r * outputSize, count: outputSize)
                } else {
                    (y + r * outputSize).update(from: b, count: outputSize)
                }
            }
        }
        BLAS.gemm(
            transposeB: true, m: rows, n: outputSize, k: inputSize,
            a: x, lda: inputSize, b: params.value(weight), ldb: inputSize,
            beta: bias == nil && !accumulate ? 0 : 1, c: y, ldc: outputSize)
    }

    /// Accumulates dW += dyᵀ·x and db += Σ_rows dy; writes dx = dy·W (or adds it when
    /// `accumulateInput`). Pass `dx: nil` when the input needs no gradient (data).
    public func backward(
        _ x: UnsafePointer<Float>, _ dy: UnsafePointer<Float>,
        _ dx: UnsafeMutablePointer<Float>?, rows: Int, _ params: ParameterStore,
        accumulateInput: Bool = false
    ) {
        BLAS.gemm(
            transposeA: true, m: outputSize, n: inputSize, k: rows,
            a: dy, lda: outputSize, b: x, ldb: inputSize,
            beta: 1, c: params.gradient(weight), ldc: inputSize)
        if let bias {
            let db = params.gradient(bias)
            for r in 0..<rows { VectorMath.add(dy + r * outputSize, into: db, count: outputSize) }
        }
        if let dx {
            BLAS.gemm(
                m: rows, n: inputSize, k: outputSize,
                a: dy, lda: outputSize, b: params.value(weight), ldb: inputSize,
                beta: accumulateInput ? 1 : 0, c: dx, ldc: inputSize)
        }
    }

    /// `forward` with the rows split over `workers` threads (one BLAS thread each).
    public func forward(
        _ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, rows: Int,
        _ params: ParameterStore, workers: Int
    ) {
        let parts = min(workers, rows)
        Parallel.forEach(parts) { w in
            let r = Parallel.share(w, of: parts, total: rows)
            forward(x + r.lowerBound * inputSize, y + r.lowerBound * outputSize, rows: r.count, params)
        }
    }

    /// The parameter half of `backward` (dW += dyᵀ·x, db += Σ_rows dy) with dW's input columns
    /// split over `workers` threads: each writes its own columns, so nothing is reduced.
    public func backwardParameters(
        _ x: UnsafePointer<Float>, _ dy: UnsafePointer<Float>, rows: Int,
        _ params: ParameterStore, workers: Int
    ) {
        let parts = min(workers, inputSize)
        Parallel.forEach(parts) { w in
            let columns = Parallel.share(w, of: parts, total: inputSize)
            BLAS.gemm(
                transposeA: true, m: outputSize, n: columns.count, k: rows,
                a: dy, lda: outputSize, b: x + columns.lowerBound, ldb: inputSize,
                beta: 1, c: params.gradient(weight) + columns.lowerBound, ldc: inputSize)
        }
        if let bias {
            let db = params.gradient(bias)
            for r in 0..<rows { VectorMath.add(dy + r * outputSize, into: db, count: outputSize) }
        }
    }
}

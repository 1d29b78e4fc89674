import ChainNumerics
import ChainTestSupport
import Foundation
import XCTest

final class TensorAndBLASTests: XCTestCase {
    func testTensorIsAlignedAndZeroed() {
        for n in [1, 3, 17, 1000] {
            let t = Tensor(shape: [n])
            XCTAssertEqual(Int(bitPattern: t.pointer) % 64, 0)
            XCTAssertEqual(t.toArray(), [Float](repeating: 0, count: n))
        }
        let t = Tensor(shape: [2, 3], values: [1, 2, 3, 4, 5, 6])
        XCTAssertEqual(t.count, 6)
        XCTAssertEqual(t[4], 5)
        let u = Tensor(shape: [6])
        u.copy(from: t)
        XCTAssertEqual(u.toArray(), t.toArray())
        u.fill(2)
        XCTAssertEqual(u.toArray(), [Float](repeating: 2, count: 6))
    }

    /// Every transpose combination, with padded leading dimensions and alpha/beta.
    func testGemmMatchesNaiveProduct() {
        let m = 5, n = 4, k = 3
        for transposeA in [false, true] {
            for transposeB in [false, true] {
                let lda = (transposeA ? m : k) + 2, ldb = (transposeB ? k : n) + 1, ldc = n + 3
                let a = TestData.gaussian((transposeA ? k : m) * lda, seed: 1)
                let b = TestData.gaussian((transposeB ? n : k) * ldb, seed: 2)
                var c = TestData.gaussian(m * ldc, seed: 3)
                let c0 = c
                c.withUnsafeMutableBufferPointer { cp in
                    BLAS.gemm(
                        transposeA: transposeA, transposeB: transposeB, m: m, n: n, k: k, alpha: 0.5,
                        a: a, lda: lda, b: b, ldb: ldb, beta: 2, c: cp.baseAddress!, ldc: ldc)
                }
                for i in 0..<m {
                    for j in 0..<n {
                        var s: Float = 0
                        for p in 0..<k {
                            let av = transposeA ? a[p * lda + i] : a[i * lda + p]
                            let bv = transposeB ? b[j * ldb + p] : b[p * ldb + j]
                            s += av * bv
                        }
                        XCTAssertEqual(
                            c[i * ldc + j], 0.5 * s + 2 * c0[i * ldc + j], accuracy: 1e-5,
                            "tA \(transposeA) tB \(transposeB) at (\(i),\(j))")
                    }
                    for j in n..<ldc { XCTAssertEqual(c[i * ldc + j], c0[i * ldc + j]) }  // padding untouched
                }
            }
        }
    }

    func testBLASThreadControl() {
        let before = BLAS.threads
        BLAS.threads = 1
        XCTAssertEqual(BLAS.threads, 1)
        BLAS.threads = before
        XCTAssertTrue(BLAS.configuration.contains("OpenBLAS"))
    }
}

final class VectorMathTests: XCTestCase {
    func testExpAccuracy() {
        var worst = 0.0
        var x: Float = -87
        while x < 88 {
            let got = Double(VectorMath.exp(x)), want = Foundation.exp(Double(x))
            worst = max(worst, abs(got - want) / want)
            x += 0.0137
        }
        XCTAssertLessThan(worst, 3e-7)
        XCTAssertEqual(VectorMath.exp(0), 1)
        XCTAssertEqual(VectorMath.exp(-200), 0)  // flushed to zero, no NaN
        XCTAssertEqual(VectorMath.exp(-.infinity), 0)
        XCTAssertTrue(VectorMath.exp(200).isFinite)
    }

    func testGELUAccuracy() {
        // Against x·Φ(x) and Φ(x) + x·φ(x) in double precision (libm's erf).
        let xs = (-600...600).map { Float($0) * 0.01 }
        var y = [Float](repeating: 0, count: xs.count), d = y, dx = y
        let ones = [Float](repeating: 1, count: xs.count)
        xs.withUnsafeBufferPointer { x in
            VectorMath.gelu(x.baseAddress!, &y, count: xs.count, derivative: &d)
            VectorMath.geluBackward(x.baseAddress!, ones, &dx, count: xs.count)
        }
        var worstValue = 0.0, worstDerivative = 0.0
        for (i, x) in xs.enumerated() {
            let v = Double(x), phi = 0.5 * (1 + erf(v / 2.0.squareRoot()))
            let density = Foundation.exp(-v * v / 2) / (2 * Double.pi).squareRoot()
            worstValue = max(worstValue, abs(Double(y[i]) - v * phi))
            worstDerivative = max(worstDerivative, abs(Double(d[i]) - (phi + v * density)))
            XCTAssertEqual(dx[i], d[i])  // backward and the saved derivative agree exactly
        }
        XCTAssertLessThan(worstValue, 1e-6)  // |x| ≤ 6 times A&S 7.1.26's 1.5e-7, plus rounding
        XCTAssertLessThan(worstDerivative, 1e-6)
    }

    func testTailLanesMatchFullVectors() {
        // The same element gives the same result whether it is in a full vector or a tail.
        let xs = (0..<13).map { Float($0) * 0.37 - 2 }
        var a = [Float](repeating: 0, count: 13), b = [Float](repeating: 0, count: 5)
        xs.withUnsafeBufferPointer { x in
            a.withUnsafeMutableBufferPointer { VectorMath.gelu(x.baseAddress!, $0.baseAddress!, count: 13) }
            b.withUnsafeMutableBufferPointer { VectorMath.gelu(x.baseAddress! + 8, $0.baseAddress!, count: 5) }
        }
        XCTAssertEqual(Array(a[8...]), b)
    }

    func testDotAndElementwise() {
        let x = (0..<3001).map { Float($0 % 7) - 3 }, y = (0..<3001).map { Float($0 % 5) * 0.5 }
        var reference = 0.0
        for i in 0..<x.count { reference += Double(x[i]) * Double(y[i]) }
        x.withUnsafeBufferPointer { xp in
            y.withUnsafeBufferPointer { yp in
                XCTAssertEqual(
                    VectorMath.dot(xp.baseAddress!, yp.baseAddress!, count: x.count), reference, accuracy: 1e-6)
            }
        }
    }
}

final class SoftmaxTests: XCTestCase {
    func testStableForLargeLogitsAndMasks() {
        var x: [Float] = [1000, 1001, 999, -.infinity, 0, 0, 0, 0, -.infinity, -.infinity, -.infinity, -.infinity]
        x.withUnsafeMutableBufferPointer { Softmax.forward($0.baseAddress!, $0.baseAddress!, rows: 3, columns: 4) }
        let e = [exp(-1.0), 1, exp(-2.0)], z = e.reduce(0, +)
        for i in 0..<3 { XCTAssertEqual(Double(x[i]), e[i] / z, accuracy: 1e-6) }
        XCTAssertEqual(x[3], 0)
        for i in 4..<8 { XCTAssertEqual(x[i], 0.25, accuracy: 1e-7) }
        XCTAssertEqual(Array(x[8...]), [0, 0, 0, 0])  // fully masked row
    }

    func testLogSoftmaxEqualsLogOfSoftmax() {
        let x = TestData.gaussian(20, seed: 4, scale: 5)
        var p = x, l = x
        p.withUnsafeMutableBufferPointer { Softmax.forward($0.baseAddress!, $0.baseAddress!, rows: 4, columns: 5) }
        l.withUnsafeMutableBufferPointer { Softmax.logForward($0.baseAddress!, $0.baseAddress!, rows: 4, columns: 5) }
        for i in 0..<20 { XCTAssertEqual(Double(l[i]), log(Double(p[i])), accuracy: 1e-5) }
    }

    func testBackwardMatchesFiniteDifferences() {
        let rows = 3, cols = 6
        let x = TestData.tensor([rows, cols], seed: 5), y = Tensor(shape: [rows, cols]),
            dx = Tensor(shape: [rows, cols])
        let w = TestData.gaussian(rows * cols, seed: 6)
        func loss() -> Double {
            Softmax.forward(x.pointer, y.pointer, rows: rows, columns: cols); return TestData.weightedSum(y.pointer, w)
        }
        _ = loss()
        w.withUnsafeBufferPointer {
            Softmax.backward(y.pointer, $0.baseAddress!, dx.pointer, rows: rows, columns: cols)
        }
        let r = GradientCheck(epsilon: 1e-3).checkInput(
            "x", values: x.pointer, count: x.count, analytic: dx.toArray(), loss: loss)
        XCTAssertTrue(r.passed, "\(r)")
    }
}

final class PhiloxTests: XCTestCase {
    /// Known-answer vectors of Philox-4x32-10 from the Random123 distribution (kat_vectors).
    func testKnownAnswerVectors() {
        XCTAssertEqual(
            Philox.block(counter: 0, stream: 0, seed: 0),
            SIMD4(0x6627_e8d5, 0xe169_c58d, 0xbc57_ac4c, 0x9b00_dbd8))
        XCTAssertEqual(
            Philox.block(counter: .max, stream: .max, seed: .max),
            SIMD4(0x408f_276d, 0x41c8_3b0e, 0xa20b_c7c6, 0x6d54_51fd))
        XCTAssertEqual(
            Philox.block(
                counter: 0x85a3_08d3_243f_6a88, stream: 0x0370_7344_1319_8a2e,
                seed: 0x299f_31d0_a409_3822),
            SIMD4(0xd16c_fe09, 0x94fd_cceb, 0x5001_e420, 0x2412_6ea1))
    }

    func testSavedStateContinuesTheSequence() {
        var g = Philox(seed: 42, stream: 7)
        for _ in 0..<13 { _ = g.next32() }
        let saved = g.state
        let expected = (0..<10).map { _ in g.next32() }
        var restored = Philox(state: saved)
        XCTAssertEqual((0..<10).map { _ in restored.next32() }, expected)
        let encoded = try! JSONEncoder().encode(saved)
        XCTAssertEqual(try! JSONDecoder().decode(Philox.RandomState.self, from: encoded), saved)
    }

    func testSplitStreamsDifferAndAreStable() {
        let root = Philox(seed: 1)
        var a = root.split(0), b = root.split(1), a2 = root.split(0), c = root.split("dropout")
        let xa = (0..<8).map { _ in a.next32() }
        XCTAssertEqual((0..<8).map { _ in a2.next32() }, xa)
        XCTAssertNotEqual((0..<8).map { _ in b.next32() }, xa)
        XCTAssertNotEqual((0..<8).map { _ in c.next32() }, xa)
        var r1 = Philox(seed: 2).split(0), r2 = Philox(seed: 3).split(0)
        XCTAssertNotEqual(r1.next(), r2.next())
    }

    func testDistributions() {
        var g = Philox(seed: 9)
        let n = 200_000
        var sum = 0.0, sq = 0.0, uniformSum = 0.0
        var counts = [Int](repeating: 0, count: 7)
        for _ in 0..<n {
            let z = Double(g.nextGaussian()); sum += z; sq += z * z
            let u = g.nextUniform(); XCTAssert(u >= 0 && u < 1); uniformSum += Double(u)
            counts[g.nextInt(below: 7)] += 1
        }
        XCTAssertEqual(sum / Double(n), 0, accuracy: 0.01)
        XCTAssertEqual(sq / Double(n), 1, accuracy: 0.01)
        XCTAssertEqual(uniformSum / Double(n), 0.5, accuracy: 0.005)
        for c in counts { XCTAssertEqual(Double(c) / Double(n), 1 / 7, accuracy: 0.005) }
        let p = g.permutation(50)
        XCTAssertEqual(p.sorted(), Array(0..<50))
        XCTAssertNotEqual(p, Array(0..<50))
    }
}

/// numpy.random.RandomState reference values (numpy 2.x, legacy stream).
final class NumpyRandomStateTests: XCTestCase {
    func testMatchesNumpy() {
        var r = NumpyRandomState(seed: 0)
        XCTAssertEqual([r.next32(), r.next32(), r.next32()], [2_357_136_044, 2_546_248_239, 3_071_714_933])
        r = NumpyRandomState(seed: 0)
        XCTAssertEqual(r.nextDouble(), 0.5488135039273248)
        XCTAssertEqual(r.nextDouble(), 0.7151893663724195)
        r = NumpyRandomState(seed: 0)
        XCTAssertEqual(
            (0..<5).map { _ in r.nextGaussian() },
            [1.764052345967664, 0.4001572083672233, 0.9787379841057392, 2.240893199201458, 1.8675579901499675])
        r = NumpyRandomState(seed: 12345)
        XCTAssertEqual(
            (0..<3).map { _ in r.nextGaussian() }, [-0.20470765948471295, 0.47894333805754824, -0.5194387150567381])
    }
}

final class PhiloxSplitTests: XCTestCase {
    /// Documented behaviour: split ignores the parent's position.
    func testSplitDependsOnKeyAndStreamOnly() {
        var parent = Philox(seed: 3, stream: 4)
        var a = parent.split(1)
        _ = parent.next()
        var b = parent.split(1)
        XCTAssertEqual(a.next(), b.next())
    }
}

import ChainNumerics
import ChainTestSupport
import XCTest

/// `FrameMoments` against sums formed row by row in double precision.
final class FrameMomentsTests: XCTestCase {
    func testMeanAndCovarianceMatchDirectSums() {
        let f = 5, rows = 2500  // more than two 1,024-row blocks, added in uneven pieces
        let x = TestData.gaussian(rows * f, seed: 9).enumerated().map { $0.element + Float($0.offset % f) }
        var m = FrameMoments(featureSize: f)
        x.withUnsafeBufferPointer { p in
            var r = 0
            for n in [1, 700, 1024, 3, 772] {
                m.add(p.baseAddress! + r * f, rows: n)
                r += n
            }
            XCTAssertEqual(r, rows)
        }
        m.flush()
        XCTAssertEqual(m.rows, rows)
        var mean = [Double](repeating: 0, count: f)
        for r in 0..<rows { for k in 0..<f { mean[k] += Double(x[r * f + k]) / Double(rows) } }
        let c = m.covariance
        for i in 0..<f {
            XCTAssertEqual(m.mean[i], mean[i], accuracy: 1e-6)
            for j in 0..<f {
                var s = 0.0
                for r in 0..<rows { s += (Double(x[r * f + i]) - mean[i]) * (Double(x[r * f + j]) - mean[j]) }
                XCTAssertEqual(c[i * f + j], s / Double(rows), accuracy: 1e-4, "(\(i), \(j))")
            }
        }
    }
}

import ChainData
import XCTest

/// The one class per item that the code map colours by.
final class LabelMatrixTests: XCTestCase {
    func testFirstClassesOfSingleMultiAndEmptyRows() {
        let labels = LabelMatrix(rows: 3, classes: 3, values: [0, 1, 0, 0, 1, 1, 0, 0, 0])
        XCTAssertEqual(labels.firstClasses, [1, 1, 0])
    }
}

import ChainEvaluation
import ChainReport
import Foundation
import XCTest

/// The cutoffs of the K curves, and charts that stay readable with a single point.
final class RunPlotsTests: XCTestCase {
    func testCurveCutoffs() {
        // The table's K, every 5 to 100; the grid goes no further than the database.
        XCTAssertEqual(
            CurveCutoffs.forDatabase(of: 5_000, table: [5, 10, 20, 40, 60, 80, 100]),
            Array(stride(from: 5, through: 100, by: 5)))
        XCTAssertEqual(CurveCutoffs.forDatabase(of: 5_000, table: [3, 250]).prefix(2), [3, 5])
        XCTAssertEqual(CurveCutoffs.forDatabase(of: 5_000, table: [3, 250]).last, 250)
        XCTAssertEqual(CurveCutoffs.forDatabase(of: 42, table: [5, 100]), [5, 10, 15, 20, 25, 30, 35, 40, 42, 100])
        // A small database: on to its size, in steps of 5 or more (about 20 more points).
        let small = CurveCutoffs.forDatabase(of: 1_000, table: [5, 100])
        XCTAssertEqual(small.last, 1_000)
        XCTAssertEqual(small.filter { $0 > 100 }.count, 20)
        XCTAssertEqual(CurveCutoffs.forDatabase(of: 96, table: [5, 10]).suffix(2), [95, 96])
        XCTAssertEqual(CurveCutoffs.forDatabase(of: 96, table: [5, 100]).suffix(3), [95, 96, 100], "the table's K stay")
        XCTAssertEqual(CurveCutoffs.forDatabase(of: 120, table: [5]).suffix(2), [115, 120])
    }

    /// One point (a run evaluated once, at epoch 6) is drawn inside the plot, not on an edge of
    /// an axis from 6 to 7.
    func testSinglePointChartCentresThePoint() throws {
        let chart = SVGChart(
            title: "t", xLabel: "epoch", yLabel: "mAP", series: [.init(name: "a", points: [(6, 0.5)])])
        let svg = chart.render()
        let circle = try XCTUnwrap(svg.range(of: #"<circle cx="([0-9.]+)""#, options: .regularExpression))
        let cx = Double(svg[circle].dropFirst(#"<circle cx=""#.count).dropLast())!
        let left = 64.0, plotWidth = chart.width - 64 - 150
        XCTAssertEqual(cx, left + plotWidth / 2, accuracy: 1, "the point sits in the middle of the x axis")
        XCTAssertTrue(svg.contains(">5<") && svg.contains(">7<"), "ticks either side of 6")
        let flat = SVGChart(title: "t", xLabel: "x", yLabel: "y", series: [.init(name: "a", points: [(1, 3), (2, 3)])])
        let y = try XCTUnwrap(flat.render().range(of: #"cy="([0-9.]+)""#, options: .regularExpression))
        let cy = Double(flat.render()[y].dropFirst(4).dropLast())!
        XCTAssertEqual(cy, 36 + (chart.height - 36 - 48) / 2, accuracy: 1, "a constant series in the middle")
    }
}

import ChainDistributed
import XCTest

/// When progress is redrawn in place: a tty, except in a SLURM batch job (where mpirun's
/// pseudo-terminals lead into a log file), with TERM=dumb or with CHAIN_PROGRESS=lines.
final class TerminalOutputTests: XCTestCase {
    func testTheRule() {
        XCTAssertTrue(TerminalOutput.isLive(isTerminal: true, environment: [:]))
        XCTAssertFalse(TerminalOutput.isLive(isTerminal: false, environment: [:]))
        XCTAssertFalse(TerminalOutput.isLive(isTerminal: true, environment: ["SLURM_JOB_ID": "7"]))
        XCTAssertTrue(
            TerminalOutput.isLive(isTerminal: true, environment: ["SLURM_JOB_ID": "7", "SLURM_PTY_PORT": "1"]))
        XCTAssertFalse(TerminalOutput.isLive(isTerminal: true, environment: ["TERM": "dumb"]))
        XCTAssertFalse(TerminalOutput.isLive(isTerminal: true, environment: ["CHAIN_PROGRESS": "lines"]))
        XCTAssertFalse(TerminalOutput.isLive(-1, environment: [:]), "not an open descriptor")
    }
}

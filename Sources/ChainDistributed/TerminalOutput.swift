import Foundation

/// Whether output is a terminal a person watches, so that progress may be redrawn in place.
///
/// A tty is not enough: under `mpirun`, Open MPI gives every rank a pseudo-terminal even when
/// the job's output goes to a file, as it does in a SLURM batch job. So the answer is no in a
/// SLURM job without a pty (`SLURM_JOB_ID` set, `SLURM_PTY_PORT` not: `sbatch`, not
/// `srun --pty`), with `TERM=dumb`, or with `CHAIN_PROGRESS=lines`; otherwise whether the
/// descriptor is a tty.
public enum TerminalOutput {
    public static func isLive(
        _ descriptor: Int32, environment: [String: String] = ProcessInfo.processInfo.environment
    ) -> Bool {
        isLive(isTerminal: isatty(descriptor) != 0, environment: environment)
    }

    /// The rule, given whether the descriptor is a tty.
    public static func isLive(isTerminal: Bool, environment: [String: String]) -> Bool {
        if environment["CHAIN_PROGRESS"] == "lines" || environment["TERM"] == "dumb" { return false }
        if environment["SLURM_JOB_ID"] != nil && environment["SLURM_PTY_PORT"] == nil { return false }
        return isTerminal
    }
}

/// Detects the classic PMI mismatch: SLURM started several tasks, but MPI was not wired to
/// SLURM's process manager, so every task sees a world of one and would train alone (N
/// independent runs writing to one folder).
enum SlurmCheck {
    /// The message to fail with, or nil when the world size is consistent with SLURM.
    static func mismatch(worldSize: Int, environment: [String: String]) -> String? {
        // `mpirun -np 1` (OMPI_COMM_WORLD_SIZE set) asked for one rank on purpose.
        guard worldSize == 1, environment["CHAIN_ALLOW_SINGLETON"] != "1", environment["OMPI_COMM_WORLD_SIZE"] == nil
        else { return nil }
        let key = environment["SLURM_STEP_NUM_TASKS"] != nil ? "SLURM_STEP_NUM_TASKS" : "SLURM_NTASKS"
        guard let text = environment[key], let tasks = Int(text), tasks > 1 else { return nil }
        return "SLURM started \(tasks) tasks (\(key)=\(tasks)) but MPI sees a world of 1: the MPI library was not "
            + "connected to SLURM's process manager. Launch with `srun --mpi=pmix chain-train …` (check `srun "
            + "--mpi=list`) "
            + "or `mpirun chain-train …` inside the allocation. To run one process on purpose, set "
            + "CHAIN_ALLOW_SINGLETON=1."
    }
}

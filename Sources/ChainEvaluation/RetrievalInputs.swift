import ChainData

/// The consistency checks every tool that ranks codes makes before it ranks (chain-eval,
/// chain-search): codes of one width, one label row per code, and one class set. Errors name
/// the files.
public enum RetrievalInputs {
    /// Query and database codes of the same width.
    public static func checkBits(
        queries: PackedCodes, _ queryFile: String, database: PackedCodes, _ databaseFile: String
    ) throws {
        guard database.bits == queries.bits else {
            throw DataError(
                "\(queryFile) has \(queries.bits)-bit codes; \(databaseFile) has \(database.bits)-bit codes")
        }
    }

    /// One label row per code.
    public static func checkLabels(
        _ labels: LabelMatrix, _ labelFile: String, for codes: PackedCodes, _ codeFile: String
    ) throws {
        guard labels.rows == codes.count else {
            throw DataError("\(labelFile): \(labels.rows) label rows for \(codes.count) codes in \(codeFile)")
        }
    }

    /// Both label sets over the same classes.
    public static func checkClasses(
        queries: LabelMatrix, _ queryFile: String, database: LabelMatrix, _ databaseFile: String
    ) throws {
        guard queries.classes == database.classes else {
            throw DataError("\(queryFile) has \(queries.classes) classes; \(databaseFile) has \(database.classes)")
        }
    }
}

import ChainStorage
import Foundation

/// Reads a label matrix from the files the public video-hashing releases use: MATLAB v5
/// (.mat, compressed or not), MATLAB v7.3 (.mat, which is HDF5: MATLAB stores matrices
/// column-major, so the HDF5 dataset is the transpose), or a plain HDF5 file (not transposed).
public enum LabelReader {
    /// The keys tried, in order, when none is given.
    public static let defaultKeys = ["labels", "re_label", "q_label"]

    /// Reads the first of `keys` present. Entries must be 0 or 1 (logical/numeric multi-hot).
    public static func read(path: String, keys: [String] = defaultKeys) throws -> LabelMatrix {
        guard FileManager.default.fileExists(atPath: path) else { throw DataError("\(path): no such file") }
        let rows: Int, columns: Int, values: [Double], key: String
        if let file = try? HDF5File(path: path) {
            guard let found = keys.first(where: file.contains) else {
                throw DataError(
                    "\(path): none of the label keys \(keys.joined(separator: ", ")) (found: "
                        + "\(file.rootNames().joined(separator: ", ")))"
                )
            }
            key = found
            let d: HDF5Dataset
            do { d = try file.dataset(found) } catch { throw DataError("\(error)") }
            guard d.shape.count == 2 else {
                throw DataError("\(path): '\(found)' has shape \(d.shape); a 2-D matrix is needed")
            }
            guard d.elementType.isNumeric else {
                throw DataError("\(path): '\(found)' has element type \(d.elementType)")
            }
            let stored: [Float]
            do { stored = try d.readFloats() } catch { throw DataError("\(error)") }
            if d.attributes.contains("MATLAB_class") {  // v7.3: transpose back to N × C
                rows = d.shape[1]; columns = d.shape[0]
                var v = [Double](repeating: 0, count: stored.count)
                for c in 0..<columns { for r in 0..<rows { v[r * columns + c] = Double(stored[c * rows + r]) } }
                values = v
            } else {
                rows = d.shape[0]; columns = d.shape[1]
                values = stored.map(Double.init)
            }
        } else if MATFile.isLevel5(path) {
            let mat = try MATFile(path: path)
            guard let found = keys.first(where: mat.names.contains) else {
                throw DataError(
                    "\(path): none of the label keys \(keys.joined(separator: ", ")) (found: "
                        + "\(mat.names.isEmpty ? "no variables" : mat.names.joined(separator: ", ")))"
                )
            }
            key = found
            let v = try mat.variable(found)
            rows = v.rows; columns = v.columns; values = v.values
        } else {
            throw DataError("\(path): neither a MAT-file (v5 or v7.3) nor an HDF5 file")
        }
        guard rows > 0, columns > 0 else { throw DataError("\(path): '\(key)' is empty (\(rows)×\(columns))") }
        var out = [UInt8](repeating: 0, count: rows * columns)
        for i in 0..<values.count {
            let v = values[i]
            guard v == 0 || v == 1 else {
                throw DataError(
                    "\(path): '\(key)' row \(i / columns), class \(i % columns) holds \(v); labels must be 0 or 1 "
                        + "(multi-hot)"
                )
            }
            out[i] = v == 1 ? 1 : 0
        }
        return LabelMatrix(rows: rows, classes: columns, values: out)
    }
}

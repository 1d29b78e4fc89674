import ArgumentParser

/// A flag whose value is one of an enum's raw values: `@Option(transform: choice("--dtype"))`.
/// A bad value is refused naming the flag and the choices ("--dtype must be float32 or
/// float16 (got float8)").
public func choice<T: RawRepresentable & CaseIterable>(_ flag: String) -> (String) throws -> T
where T.RawValue == String {
    { text in
        if let value = T(rawValue: text) { return value }
        let names = T.allCases.map(\.rawValue)
        let list = names.count > 1 ? names.dropLast().joined(separator: ", ") + " or " + names.last! : names.joined()
        throw ValidationError("\(flag) must be \(list) (got \(text))")
    }
}

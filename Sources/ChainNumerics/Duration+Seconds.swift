extension Duration {
    /// The duration in seconds (as `ContinuousClock` intervals are reported).
    public var seconds: Double { Double(components.seconds) + Double(components.attoseconds) * 1e-18 }
}

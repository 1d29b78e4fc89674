extension MetricsRecord {
    /// The record as TensorBoard scalars: the global step they belong to and (tag, value)
    /// pairs. Loss terms that are 0 (terms that are off) are left out.
    ///
    ///     step:  loss/{total,contrastive,order,scene,reconstruction}, train/lr, train/videos_per_second
    ///     epoch: epoch/loss, epoch/order_accuracy, epoch/order_chance, epoch/scenes_per_view, epoch/seconds
    ///     eval:  map/at_K for each K, map/all
    public var scalars: (step: Int, values: [(tag: String, value: Double)]) {
        func terms(_ l: Losses, prefix: String, total: String) -> [(tag: String, value: Double)] {
            [
                (total, l.total), ("contrastive", l.contrastive), ("order", l.order), ("scene", l.scene),
                ("reconstruction", l.reconstruction),
            ].filter { $0.1 != 0 }.map { (prefix + $0.0, $0.1) }
        }
        switch self {
        case let .step(step, _, learningRate, l, rate):
            return (
                step,
                terms(l, prefix: "loss/", total: "total") + [
                    ("train/lr", learningRate), ("train/videos_per_second", rate),
                ]
            )
        case let .epoch(_, step, l, accuracy, chance, scenes, seconds, _):
            var values = terms(l, prefix: "epoch/", total: "loss")
            if l.order != 0 { values += [("epoch/order_accuracy", accuracy), ("epoch/order_chance", chance)] }
            if l.scene != 0 { values.append(("epoch/scenes_per_view", scenes)) }
            values.append(("epoch/seconds", seconds))
            return (step, values)
        case let .evaluation(_, step, mapAtK, mapAll):
            return (
                step, mapAtK.sorted { $0.key < $1.key }.map { ("map/at_\($0.key)", $0.value) } + [("map/all", mapAll)]
            )
        }
    }
}

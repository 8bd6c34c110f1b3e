public import Gale

/// The key of one entry in a ``MapState``: the values of the `groupBy` fields, in order.
public typealias StateKey = [GaleValue]

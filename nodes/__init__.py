"""Graph nodes: one module per node or node family, each a small typed function."""

"""The use cases: ``fold`` (replay a stream to a state), ``dispatch`` (fold, handle, append,
fan out), ``delivery`` (publish and pending deliveries), ``copy`` (one store into another)
and ``follow`` (a stream as it grows). Each takes stores and sinks through their protocols;
the CLI only parses, calls one of these, and renders."""

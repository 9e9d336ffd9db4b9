"""The intermediate representation: the graph (a DAG of nodes over named tensors), the lowered
integer ops every pass produces (:mod:`.layers`) and their exact NumPy semantics (:mod:`.golden`)."""

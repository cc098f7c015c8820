package io.ringraft;

/** How a node's agents ({@code RaftCore} and the state-machine worker) get threads, as in Aeron's media driver. */
public enum ThreadingMode
{
    /** Each agent on a thread of its own: lowest latency, with busy-spin idle strategies on pinned cores in production. */
    DEDICATED,
    /** All agents of the node composed on one thread: the default, economical with cores. */
    SHARED,
    /** No thread: the application drives the node by calling {@link Raft#doWork()} (tests, single-threaded embedding). */
    INVOKER
}

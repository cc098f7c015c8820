package io.ringraft.bench;

import io.ringraft.Raft;
import io.ringraft.RaftMetrics;
import io.ringraft.engine.Role;
import io.ringraft.storage.InMemorySnapshotStore;
import io.ringraft.storage.RaftLogStorage;
import io.ringraft.storage.RaftSnapshotStore;
import io.ringraft.storage.chronicle.ChronicleLogStorage;
import io.ringraft.storage.chronicle.FileSnapshotStore;

import java.lang.management.ManagementFactory;
import java.util.concurrent.TimeUnit;

/** What the cluster benchmarks (and the allocation test on their cluster) share. */
public final class BenchClusters
{
    /** Where a benchmark node's Chronicle log lives in its data directory; its snapshots go beside it. */
    public static final String LOG_DIRECTORY = "raft";

    private BenchClusters()
    {
    }

    /**
     * @param log a node's log
     * @return the snapshot store to pair with it: files beside a Chronicle log (a durable log needs
     *         durable snapshots, which {@code Raft.start} checks), memory beside a log in memory
     */
    public static RaftSnapshotStore snapshotStoreFor(final RaftLogStorage log)
    {
        if (log instanceof ChronicleLogStorage)
        {
            return FileSnapshotStore.open(((ChronicleLogStorage)log).context().directory().resolveSibling("snapshots"));
        }
        return new InMemorySnapshotStore();
    }

    /**
     * Waits for a leader that every node follows, that has committed its log, and that still leads
     * the same term 200 ms later: another node's election timer may fire while the JVM warms up,
     * and a leadership that changes under a benchmark fails its writes.
     *
     * @param nodes   the cluster
     * @param drive   one turn of the nodes (their duty cycles in INVOKER mode, else a pause)
     * @param timeout how long to wait
     * @param unit    its unit
     * @return the leader
     * @throws IllegalStateException if none is stable in time
     */
    public static Raft awaitStableLeader(final Raft[] nodes, final Runnable drive, final long timeout, final TimeUnit unit)
    {
        final long deadline = System.nanoTime() + unit.toNanos(timeout);
        Raft candidate = null;
        long candidateTerm = -1;
        long stableSince = 0;
        while (true)
        {
            if (System.nanoTime() > deadline)
            {
                throw new IllegalStateException("no stable leader within " + timeout + " " + unit);
            }
            drive.run();
            final Raft agreed = agreedLeader(nodes);
            final long term = agreed == null ? -1 : agreed.metrics().term();
            if (agreed == null || agreed != candidate || term != candidateTerm)
            {
                candidate = agreed;
                candidateTerm = term;
                stableSince = System.nanoTime();
            }
            else if (System.nanoTime() - stableSince > TimeUnit.MILLISECONDS.toNanos(200))
            {
                return candidate;
            }
        }
    }

    /** @return the bytes the calling thread has allocated so far (HotSpot's per-thread counter) */
    public static long threadAllocatedBytes()
    {
        return ((com.sun.management.ThreadMXBean)ManagementFactory.getThreadMXBean()).getThreadAllocatedBytes(Thread.currentThread().getId());
    }

    /** @return the leader all nodes follow in one term, with its log committed, or null */
    private static Raft agreedLeader(final Raft[] nodes)
    {
        Raft leader = null;
        for (final Raft n : nodes)
        {
            if (n.metrics().role() == Role.LEADER)
            {
                leader = n;
            }
        }
        if (leader == null)
        {
            return null;
        }
        final RaftMetrics lm = leader.metrics();
        if (lm.committedIndex() < lm.lastLogIndex())
        {
            return null;
        }
        for (final Raft n : nodes)
        {
            final RaftMetrics m = n.metrics();
            if (m.term() != lm.term() || m.leaderId() != lm.nodeId())
            {
                return null;
            }
        }
        return leader;
    }
}

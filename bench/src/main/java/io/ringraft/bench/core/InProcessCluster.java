package io.ringraft.bench.core;

import io.ringraft.Membership;
import io.ringraft.Raft;
import io.ringraft.RaftConfig;
import io.ringraft.RaftEventListener;
import io.ringraft.ThreadingMode;
import io.ringraft.bench.BenchClusters;
import io.ringraft.engine.Role;
import io.ringraft.network.InJvmNetwork;
import io.ringraft.storage.InMemoryLogStorage;
import io.ringraft.storage.SnapshotMeta;
import org.agrona.concurrent.BackoffIdleStrategy;
import org.agrona.concurrent.BusySpinIdleStrategy;

import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Three real nodes (RaftCore, rings, state-machine worker) in one JVM over the in-JVM network
 * with in-memory logs, for benchmarks. In {@link ThreadingMode#INVOKER} the caller's thread drives
 * all three nodes through {@link #drive()}; in the threaded modes each node has its own threads.
 */
final class InProcessCluster implements AutoCloseable
{
    final Raft[] nodes;
    final Raft leader;
    /** Counts the events of every node (role, membership, snapshot): benchmarks and the zero-allocation test run with a listener. */
    final EventCounter events = new EventCounter();
    private final boolean invoker;

    /** Counts what it hears, allocating nothing. */
    static final class EventCounter implements RaftEventListener
    {
        final AtomicLong count = new AtomicLong();

        @Override
        public void onRoleChange(final long nodeId, final Role role, final long term, final long leaderId)
        {
            count.incrementAndGet();
        }

        @Override
        public void onMembershipChange(final long nodeId, final Membership membership)
        {
            count.incrementAndGet();
        }

        @Override
        public void onSnapshotBuilt(final long nodeId, final SnapshotMeta meta)
        {
            count.incrementAndGet();
        }

        @Override
        public void onSnapshotInstalled(final long nodeId, final SnapshotMeta meta)
        {
            count.incrementAndGet();
        }
    }

    InProcessCluster(final ThreadingMode mode, final boolean busySpin, final int window)
    {
        this(mode, busySpin, window, 500);
    }

    /**
     * @param electionTimeoutMillis the least election timeout (the most is twice it): long enough
     *                              that a stalled JVM does not move the leadership mid-run
     */
    InProcessCluster(final ThreadingMode mode, final boolean busySpin, final int window, final long electionTimeoutMillis)
    {
        invoker = mode == ThreadingMode.INVOKER;
        final InJvmNetwork network = new InJvmNetwork(1024, 1024 * 1024);
        final Membership members = Membership.of(1, 2, 3);
        nodes = new Raft[3];
        for (int i = 0; i < 3; i++)
        {
            final long id = i + 1;
            final RaftConfig config = new RaftConfig().nodeId(id).threadingMode(mode).randomSeed(id)
                .electionTimeout(electionTimeoutMillis, 2 * electionTimeoutMillis, TimeUnit.MILLISECONDS)
                .heartbeatInterval(10, TimeUnit.MILLISECONDS)
                .ingressRingSize(Math.max(1024, Integer.highestOneBit(window)))
                .applyRingSize(2048).replicationWindow(256).maxEntriesPerAppend(512).maxWritesPerBatch(256)
                .snapshotEveryEntries(100_000).logRetainEntries(1024)
                .eventListener(events); // a listener as an application has one: its calls must allocate nothing either
            if (busySpin)
            {
                config.coreIdleStrategy(BusySpinIdleStrategy::new).stateMachineIdleStrategy(BusySpinIdleStrategy::new);
            }
            else
            {
                config.coreIdleStrategy(() -> new BackoffIdleStrategy(100, 10, 1_000, 100_000));
            }
            // Sized for the longest log between two snapshots: no growth in the measurement.
            final InMemoryLogStorage log = new InMemoryLogStorage(128 * 1024, 128L * 1024 * 72);
            nodes[i] = Raft.start(config, log, network.endpoint(id), new CountingStateMachine(), members);
        }
        // Node 1 stands at once; the long timeouts keep a starved thread from costing the leadership.
        nodes[0].triggerElection();
        leader = BenchClusters.awaitStableLeader(nodes, this::drive, 30, TimeUnit.SECONDS);
    }

    /** One duty cycle of every node when the caller drives them; otherwise a pause for the node threads. */
    void drive()
    {
        if (invoker)
        {
            for (final Raft n : nodes)
            {
                n.doWork();
            }
        }
        else
        {
            Thread.onSpinWait();
        }
    }

    @Override
    public void close()
    {
        for (final Raft n : nodes)
        {
            n.close();
        }
    }
}

package io.ringraft.storage.chronicle;

import io.ringraft.Membership;
import io.ringraft.Raft;
import io.ringraft.RaftConfig;
import io.ringraft.WriteResult;
import io.ringraft.engine.Role;
import io.ringraft.network.AppendEntriesRequest;
import io.ringraft.network.InJvmNetwork;
import io.ringraft.network.RaftMessage;
import io.ringraft.network.RaftNetwork;
import io.ringraft.statemachine.KvStateMachine;
import io.ringraft.storage.RaftStorageException;
import org.agrona.concurrent.UnsafeBuffer;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Function;

/**
 * Three in-JVM nodes on Chronicle logs (in-JVM network, key-value state machine, in-memory
 * snapshots): what the storage's cluster tests drive. Each node's endpoint is tapped to measure
 * the largest gap between AppendEntries (heartbeats included) it receives; a writer thread keeps
 * a window of puts in flight to whichever node leads.
 */
final class ChronicleCluster implements AutoCloseable
{
    static final long HEARTBEAT_MS = 25;

    final InJvmNetwork network = new InJvmNetwork(4096);
    final List<Raft> nodes = new ArrayList<>();
    final List<ChronicleLogStorage> logs = new ArrayList<>();
    final List<KvStateMachine> machines = new ArrayList<>();
    final List<HeartbeatTap> taps = new ArrayList<>();
    final List<Throwable> reported = new CopyOnWriteArrayList<>();
    final Set<Long> acknowledged = ConcurrentHashMap.newKeySet();
    final AtomicLong lastAckNanos = new AtomicLong();
    private final Path root;
    private final Function<Path, ChronicleStorageContext> contexts;
    private volatile boolean writing;
    private Thread writer;

    /** @param contexts the storage settings of a node, given its directory */
    ChronicleCluster(final Path root, final Function<Path, ChronicleStorageContext> contexts)
    {
        this.root = root;
        this.contexts = contexts;
    }

    void start()
    {
        for (long id = 1; id <= 3; id++)
        {
            start(id);
        }
    }

    /** Starts (or restarts) node {@code id} on its directory. */
    Raft start(final long id)
    {
        final int at = (int)id - 1;
        final RaftConfig config = new RaftConfig().nodeId(id).electionTimeout(1000, 2000, TimeUnit.MILLISECONDS)
            .heartbeatInterval(HEARTBEAT_MS, TimeUnit.MILLISECONDS).randomSeed(id * 31).errorHandler(reported::add);
        final ChronicleLogStorage log = ChronicleLogStorage.open(contexts.apply(root.resolve("node-" + id)));
        final KvStateMachine machine = new KvStateMachine(false);
        final HeartbeatTap tap = new HeartbeatTap(network.endpoint(id));
        final Raft raft = Raft.start(config, log, FileSnapshotStore.open(root.resolve("node-" + id + "-snapshots")), tap, machine,
            Membership.of(1, 2, 3));
        if (nodes.size() > at)
        {
            nodes.set(at, raft);
            logs.set(at, log);
            machines.set(at, machine);
            taps.set(at, tap);
        }
        else
        {
            nodes.add(raft);
            logs.add(log);
            machines.add(machine);
            taps.add(tap);
        }
        return raft;
    }

    Raft awaitLeader(final Raft except) throws InterruptedException
    {
        final long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
        while (System.nanoTime() < deadline)
        {
            for (final Raft n : nodes)
            {
                if (n != except && n.failure() == null && n.role() == Role.LEADER)
                {
                    return n;
                }
            }
            Thread.sleep(2);
        }
        throw new AssertionError("no leader within 20 s");
    }

    static byte[] put(final long n)
    {
        final byte[] key = ("k" + n).getBytes(StandardCharsets.UTF_8);
        final byte[] value = ("v" + n).getBytes(StandardCharsets.UTF_8);
        final byte[] command = new byte[KvStateMachine.commandLength(key, value, null)];
        KvStateMachine.encodeCommand(new UnsafeBuffer(command), 0, KvStateMachine.PUT, 1, n, key, value, null);
        return command;
    }

    /** Starts a thread that keeps {@code window} puts in flight to the leader; acknowledged ones go to {@link #acknowledged}. */
    void startWriting(final int window, final int payloadPadding)
    {
        writing = true;
        writer = new Thread(() ->
        {
            final Semaphore inFlight = new Semaphore(window);
            long n = 0;
            while (writing)
            {
                Raft leader = null;
                for (final Raft node : nodes)
                {
                    if (node.failure() == null && node.role() == Role.LEADER)
                    {
                        leader = node;
                    }
                }
                if (leader == null || !inFlight.tryAcquire())
                {
                    try
                    {
                        Thread.sleep(1);
                    }
                    catch (final InterruptedException ex)
                    {
                        return;
                    }
                    continue;
                }
                final long value = n++;
                final byte[] command = payloadPadding == 0 ? put(value) : padded(value, payloadPadding);
                leader.clientWrite(command).whenComplete((WriteResult r, Throwable ex) ->
                {
                    inFlight.release();
                    if (r != null && r.isOk())
                    {
                        acknowledged.add(value);
                        lastAckNanos.set(System.nanoTime());
                    }
                });
            }
        }, "writer");
        writer.start();
    }

    private static byte[] padded(final long n, final int padding)
    {
        final byte[] key = ("k" + n).getBytes(StandardCharsets.UTF_8);
        final byte[] value = new byte[padding];
        final byte[] command = new byte[KvStateMachine.commandLength(key, value, null)];
        KvStateMachine.encodeCommand(new UnsafeBuffer(command), 0, KvStateMachine.PUT, 1, n, key, value, null);
        return command;
    }

    void stopWriting() throws InterruptedException
    {
        writing = false;
        if (writer != null)
        {
            writer.join();
            writer = null;
        }
    }

    @Override
    public void close() throws Exception
    {
        stopWriting();
        RuntimeException first = null;
        for (final Raft node : nodes)
        {
            try
            {
                node.close();
            }
            catch (final RaftStorageException ex)
            {
                first = first == null ? ex : first;
            }
        }
        if (first != null)
        {
            throw first;
        }
    }

    /** Records the largest gap between AppendEntries this node receives, once {@link #reset()} armed it. */
    static final class HeartbeatTap implements RaftNetwork, RaftNetwork.MessageHandler
    {
        private final RaftNetwork delegate;
        private MessageHandler handler;
        private long lastNanos;
        private volatile boolean resetRequested;
        volatile long maxGapNanos;
        /** When the largest gap ended (System.nanoTime). */
        volatile long maxGapEndNanos;
        volatile long appends;

        HeartbeatTap(final RaftNetwork delegate)
        {
            this.delegate = delegate;
        }

        /** Starts measuring afresh (applied by the node's own thread at its next poll). */
        void reset()
        {
            resetRequested = true;
        }

        @Override
        public int send(final RaftMessage message)
        {
            return delegate.send(message);
        }

        @Override
        public int poll(final MessageHandler handler, final int limit)
        {
            if (resetRequested)
            {
                resetRequested = false;
                lastNanos = 0;
                maxGapNanos = 0;
                appends = 0;
            }
            this.handler = handler;
            return delegate.poll(this, limit);
        }

        @Override
        public void onMessage(final RaftMessage message)
        {
            if (message instanceof AppendEntriesRequest)
            {
                final long now = System.nanoTime();
                if (lastNanos != 0 && now - lastNanos > maxGapNanos)
                {
                    maxGapNanos = now - lastNanos;
                    maxGapEndNanos = now;
                }
                lastNanos = now;
                appends++;
            }
            handler.onMessage(message);
        }

        @Override
        public int maxMessageLength()
        {
            return delegate.maxMessageLength();
        }

        @Override
        public void close()
        {
            delegate.close();
        }
    }
}

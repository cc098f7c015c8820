package io.ringraft.runtime;

import io.ringraft.AdminResult;
import io.ringraft.AdminStatus;
import io.ringraft.EntryBatch;
import io.ringraft.Membership;
import io.ringraft.Raft;
import io.ringraft.RaftConfig;
import io.ringraft.RaftException;
import io.ringraft.ThreadingMode;
import io.ringraft.WriteResult;
import io.ringraft.WriteStatus;
import io.ringraft.engine.Role;
import io.ringraft.network.InJvmNetwork;
import io.ringraft.network.RaftMessage;
import io.ringraft.network.RaftNetwork;
import io.ringraft.storage.InMemoryLogStorage;
import io.ringraft.storage.RaftStorageException;
import org.agrona.DirectBuffer;
import org.agrona.MutableDirectBuffer;
import org.agrona.concurrent.UnsafeBuffer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.LockSupport;
import java.util.function.BooleanSupplier;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Fault containment over the in-JVM network: a failure of any agent or of the storage stops the
 * node as a whole (it leads no more, sends nothing, answers {@code FATAL} with the cause), in
 * every threading mode; an application callback that throws is reported and the node goes on.
 */
class FailStopTest
{
    private static final long HEARTBEAT_MS = 50;

    private final InJvmNetwork network = new InJvmNetwork(4096);
    private final List<Raft> nodes = new ArrayList<>();
    private final List<ArmedMachine> machines = new ArrayList<>();
    private final List<CountingNetwork> endpoints = new ArrayList<>();
    private final List<Thread> drivers = new ArrayList<>();
    private final List<Throwable> reported = new CopyOnWriteArrayList<>();
    private final Map<Throwable, Long> reportedAtNanos = new ConcurrentHashMap<>();
    private final Map<Throwable, Role> roleWhenReported = new ConcurrentHashMap<>();
    private volatile boolean driving = true;

    @AfterEach
    void closeAll() throws InterruptedException
    {
        driving = false;
        for (final Thread t : drivers)
        {
            t.join();
        }
        nodes.forEach(Raft::close);
    }

    /** Records what it applies; once armed (or from index {@code throwFrom} on), throws on the next entry, as a broken state machine does. */
    private static final class ArmedMachine extends RecordingStateMachine
    {
        volatile boolean armed;
        volatile long throwFrom = Long.MAX_VALUE;
        volatile long thrownAtNanos;
        volatile long lastAppliedIndex;

        @Override
        public int apply(final long index, final long term, final DirectBuffer payload, final int offset, final int length,
            final MutableDirectBuffer response)
        {
            if (armed || index >= throwFrom)
            {
                thrownAtNanos = System.nanoTime();
                throw new IllegalStateException("state machine broke at index " + index);
            }
            final int result = super.apply(index, term, payload, offset, length, response);
            lastAppliedIndex = index;
            return result;
        }
    }

    /** Counts what the node sends and when it last sent. */
    private static final class CountingNetwork implements RaftNetwork
    {
        private final RaftNetwork delegate;
        final AtomicLong sent = new AtomicLong();

        CountingNetwork(final RaftNetwork delegate)
        {
            this.delegate = delegate;
        }

        @Override
        public int send(final RaftMessage message)
        {
            sent.incrementAndGet();
            return delegate.send(message);
        }

        @Override
        public int poll(final MessageHandler handler, final int limit)
        {
            return delegate.poll(handler, limit);
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

    /** A log that, once armed, fails the Nth batch a follower appends from the leader, or the Nth flush. */
    private static final class FailingAppendLog extends InMemoryLogStorage
    {
        final AtomicInteger appendsUntilFailure = new AtomicInteger(-1);
        final AtomicInteger flushesUntilFailure = new AtomicInteger(-1);

        @Override
        public long flush()
        {
            if (flushesUntilFailure.get() >= 0 && flushesUntilFailure.getAndDecrement() == 0)
            {
                throw new RaftStorageException("disk failed syncing the log up to entry " + lastLogIndex());
            }
            return super.flush();
        }

        @Override
        public void append(final EntryBatch entries, final int from)
        {
            if (appendsUntilFailure.get() >= 0 && appendsUntilFailure.getAndDecrement() == 0)
            {
                throw new RaftStorageException("disk failed appending entry " + entries.index(from));
            }
            super.append(entries, from);
        }
    }

    private RaftConfig config(final long id, final ThreadingMode mode)
    {
        return new RaftConfig().nodeId(id).threadingMode(mode).electionTimeout(500, 1000, TimeUnit.MILLISECONDS)
            .heartbeatInterval(HEARTBEAT_MS, TimeUnit.MILLISECONDS).randomSeed(id * 31).errorHandler(t ->
            {
                reportedAtNanos.put(t, System.nanoTime());
                roleWhenReported.put(t, nodes.get((int)id - 1).role());
                reported.add(t);
            });
    }

    private void startCluster(final ThreadingMode mode, final List<? extends InMemoryLogStorage> logs, final Path countersDir)
    {
        for (long id = 1; id <= 3; id++)
        {
            final ArmedMachine machine = new ArmedMachine();
            machines.add(machine);
            final CountingNetwork endpoint = new CountingNetwork(network.endpoint(id));
            endpoints.add(endpoint);
            final RaftConfig config = config(id, mode);
            if (countersDir != null)
            {
                config.countersFile(countersDir.resolve("node-" + id + ".counters"));
            }
            final InMemoryLogStorage log = logs != null ? logs.get((int)id - 1) : new InMemoryLogStorage();
            final Raft raft = Raft.start(config, log, endpoint, machine, Membership.of(1, 2, 3));
            nodes.add(raft);
            drive(raft, mode);
        }
    }

    /** In {@link ThreadingMode#INVOKER}, a thread of the test runs the node's duty cycles. */
    private void drive(final Raft raft, final ThreadingMode mode)
    {
        if (mode == ThreadingMode.INVOKER)
        {
            final Thread driver = new Thread(() ->
            {
                while (driving)
                {
                    if (raft.doWork() == 0)
                    {
                        LockSupport.parkNanos(50_000);
                    }
                }
            }, "driver-" + raft.nodeId());
            drivers.add(driver);
            driver.start();
        }
    }

    private Raft awaitLeader(final Raft except) throws InterruptedException
    {
        final long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
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
        throw new AssertionError("no leader within 10 s");
    }

    private static void await(final BooleanSupplier condition, final String what) throws InterruptedException
    {
        final long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (!condition.getAsBoolean())
        {
            assertTrue(System.nanoTime() < deadline, "timed out waiting for " + what);
            Thread.sleep(1);
        }
    }

    private static byte[] command(final long value)
    {
        final byte[] bytes = new byte[16];
        new UnsafeBuffer(bytes).putLong(0, value);
        return bytes;
    }

    /** Writes through whichever node leads until {@code count} writes are acknowledged; returns their values. */
    private List<Long> writeAcknowledged(final long firstValue, final int count, final Raft except) throws Exception
    {
        final List<Long> acked = new ArrayList<>();
        long value = firstValue;
        while (acked.size() < count)
        {
            final Raft leader = awaitLeader(except);
            final WriteResult r = leader.clientWrite(command(value)).get(10, TimeUnit.SECONDS);
            if (r.isOk())
            {
                acked.add(value);
            }
            value++;
        }
        return acked;
    }

    @ParameterizedTest
    @EnumSource(ThreadingMode.class)
    void aStateMachineThatThrowsOnTheLeaderStopsItAtOnceAndANewLeaderKeepsEveryAcknowledgedWrite(final ThreadingMode mode,
        @TempDir final Path dir) throws Exception
    {
        startCluster(mode, null, dir);
        final List<Long> acked = new ArrayList<>(writeAcknowledged(1, 200, null));
        final Raft leader = awaitLeader(null);
        final int leaderIndex = nodes.indexOf(leader);

        final ArmedMachine broken = machines.get(leaderIndex);
        broken.armed = true;
        final WriteResult doomed = leader.clientWrite(command(10_000)).get(10, TimeUnit.SECONDS);

        // The write whose apply threw is answered FATAL (not held until close), and the cause is kept.
        assertEquals(WriteStatus.FATAL, doomed.status(), "outcome of the write whose apply threw: " + doomed);
        final Throwable failure = leader.failure();
        assertInstanceOf(IllegalStateException.class, failure);
        assertTrue(failure.getMessage().contains("state machine broke"), failure.toString());
        assertTrue(reported.contains(failure), "the failure went to the error handler: " + reported);

        // It stopped leading before it reported the failure, within one heartbeat interval of it, and
        // sends nothing more.
        assertEquals(Role.FOLLOWER, roleWhenReported.get(failure), "role when the failure was reported");
        final long steppedDownNanos = reportedAtNanos.get(failure) - broken.thrownAtNanos;
        assertTrue(steppedDownNanos < TimeUnit.MILLISECONDS.toNanos(HEARTBEAT_MS),
            "stepped down " + steppedDownNanos / 1000 + " µs after the failure, more than one heartbeat interval");
        assertTrue(leader.role() != Role.LEADER);
        final CountingNetwork failedEndpoint = endpoints.get(leaderIndex);
        final long sentAfterFailure = failedEndpoint.sent.get();
        Thread.sleep(4 * HEARTBEAT_MS);
        assertEquals(sentAfterFailure, failedEndpoint.sent.get(), "no heartbeat (no message at all) after the failure");

        // Every later call gets a typed fatal outcome carrying the cause.
        assertEquals(WriteStatus.FATAL, leader.clientWrite(new UnsafeBuffer(new byte[8]), 0, 8, 1, (c, s, i, l, b, o, n) -> { }));
        final ExecutionException read = org.junit.jupiter.api.Assertions.assertThrows(ExecutionException.class,
            () -> leader.ensureLinearizable().get(5, TimeUnit.SECONDS));
        final RaftException readFailure = assertInstanceOf(RaftException.class, read.getCause());
        assertEquals(WriteStatus.FATAL, readFailure.status());
        assertSame(failure, readFailure.getCause());
        final AdminResult admin = leader.changeMembership(new long[] {1, 2}, false, Duration.ofSeconds(1)).get(5, TimeUnit.SECONDS);
        assertEquals(AdminStatus.FATAL, admin.status(), admin.toString());
        final Map<String, Long> counters = RaftCounters.readFile(dir.resolve("node-" + leader.nodeId() + ".counters"));
        assertEquals(1L, counters.get("ringraft node " + leader.nodeId() + " failed (1 once the node failed and stopped)"), counters.toString());

        // Another node takes over; no acknowledged write is lost, and the cluster goes on.
        awaitLeader(leader);
        acked.addAll(writeAcknowledged(20_000, 50, leader));
        for (int i = 0; i < nodes.size(); i++)
        {
            if (i == leaderIndex)
            {
                continue;
            }
            final RecordingStateMachine machine = machines.get(i);
            final long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
            List<Long> missing = acked;
            while (!missing.isEmpty() && System.nanoTime() < deadline)
            {
                Thread.sleep(1);
                final List<Long> applied = machine.commands();
                missing = acked.stream().filter(v -> !applied.contains(v)).toList();
            }
            assertEquals(List.of(), missing, "acknowledged writes node " + nodes.get(i).nodeId() + " does not hold");
        }
    }

    @ParameterizedTest
    @EnumSource(ThreadingMode.class)
    void aWriteHandlerOrFutureStageThatThrowsIsReportedAndTheNodeKeepsServing(final ThreadingMode mode) throws Exception
    {
        startCluster(mode, null, null);
        final Raft leader = awaitLeader(null);
        final CompletableFuture<Long> thrownFor = new CompletableFuture<>();
        final UnsafeBuffer payload = new UnsafeBuffer(command(1));
        assertEquals(WriteStatus.OK, leader.clientWrite(payload, 0, 16, 7, (correlationId, status, index, leaderId, response, offset, length) ->
        {
            thrownFor.complete(correlationId);
            throw new IllegalArgumentException("application bug in a write handler");
        }));
        assertEquals(7L, thrownFor.get(10, TimeUnit.SECONDS));
        // On the core thread too: a follower refuses a write (NOT_LEADER) to a handler that throws.
        final Raft follower = nodes.stream().filter(n -> n != leader).findFirst().orElseThrow();
        final CompletableFuture<Integer> refused = new CompletableFuture<>();
        assertEquals(WriteStatus.OK, follower.clientWrite(payload, 0, 16, 8, (correlationId, status, index, leaderId, response, offset, length) ->
        {
            refused.complete(status);
            throw new IllegalStateException("application bug in a refusal handler");
        }));
        assertEquals(WriteStatus.NOT_LEADER, refused.get(10, TimeUnit.SECONDS));
        // A dependent stage that throws stays inside its own future.
        leader.clientWrite(command(2)).thenAccept(r ->
        {
            throw new IllegalStateException("application bug in a future stage");
        });

        final List<Long> acked = writeAcknowledged(100, 100, null);
        assertEquals(100, acked.size());
        for (final Raft n : nodes)
        {
            assertNull(n.failure(), "node " + n.nodeId() + " kept running");
        }
        await(() -> reported.size() >= 2, "both handler exceptions to be reported");
        assertTrue(reported.stream().anyMatch(t -> t.getMessage().equals("application bug in a write handler")), reported.toString());
        assertTrue(reported.stream().anyMatch(t -> t.getMessage().equals("application bug in a refusal handler")), reported.toString());
    }

    @ParameterizedTest
    @EnumSource(ThreadingMode.class)
    void aStorageFailureOnAFollowersAppendStopsThatNodeAsAWhole(final ThreadingMode mode) throws Exception
    {
        final List<FailingAppendLog> logs = List.of(new FailingAppendLog(), new FailingAppendLog(), new FailingAppendLog());
        startCluster(mode, logs, null);
        final Raft leader = awaitLeader(null);
        writeAcknowledged(1, 20, null);
        final int followerIndex = leader == nodes.get(0) ? 1 : 0;
        final Raft follower = nodes.get(followerIndex);
        logs.get(followerIndex).appendsUntilFailure.set(5);

        writeAcknowledged(100, 100, null);
        await(() -> follower.failure() != null, "the follower to fail");
        assertInstanceOf(RaftStorageException.class, follower.failure());
        assertTrue(reported.contains(follower.failure()), "reported: " + reported);
        assertEquals(WriteStatus.FATAL, follower.clientWrite(new UnsafeBuffer(new byte[8]), 0, 8, 1, (c, s, i, l, b, o, n) -> { }));

        // It is stopped as a whole: it appends and sends nothing more while the others go on committing.
        // The log itself, not the counter: the duty cycle that failed appended before it could publish its counters.
        final long lastLogIndex = logs.get(followerIndex).lastLogIndex();
        final long sent = endpoints.get(followerIndex).sent.get();
        writeAcknowledged(1_000, 100, follower);
        assertEquals(lastLogIndex, logs.get(followerIndex).lastLogIndex(), "the failed node's log did not move");
        assertEquals(sent, endpoints.get(followerIndex).sent.get(), "the failed node sent nothing");
    }

    @ParameterizedTest
    @EnumSource(ThreadingMode.class)
    void aFailedNodesCountersShowTheLogItHadAppendedWhenItFailed(final ThreadingMode mode) throws Exception
    {
        final List<FailingAppendLog> logs = List.of(new FailingAppendLog(), new FailingAppendLog(), new FailingAppendLog());
        startCluster(mode, logs, null);
        final Raft leader = awaitLeader(null);
        writeAcknowledged(1, 20, null);
        final int followerIndex = leader == nodes.get(0) ? 1 : 0;
        final Raft follower = nodes.get(followerIndex);
        final FailingAppendLog log = logs.get(followerIndex);
        // A flush comes only after an append in the same duty cycle: the cycle that fails has
        // appended entries its counters do not show yet, unless stopping publishes them.
        log.flushesUntilFailure.set(3);
        final long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
        while (follower.failure() == null)
        {
            assertTrue(System.nanoTime() < deadline, "the follower did not fail");
            writeAcknowledged(1_000, 10, null);
        }
        assertInstanceOf(RaftStorageException.class, follower.failure());
        assertEquals(log.lastLogIndex(), follower.lastLogIndex(), "the last log index counter once the failure is seen");
        final io.ringraft.RaftMetrics metrics = follower.metrics();
        assertEquals(log.lastLogIndex(), metrics.lastLogIndex(), metrics.toString());
        assertEquals(Role.FOLLOWER, metrics.role());
        assertTrue(metrics.term() > 0 && metrics.committedIndex() > 20, metrics.toString());
    }

    @ParameterizedTest
    @EnumSource(ThreadingMode.class)
    void aFailedNodesAppliedCounterShowsEveryEntryItAppliedBeforeTheStateMachineFailed(final ThreadingMode mode) throws Exception
    {
        startCluster(mode, null, null);
        writeAcknowledged(1, 20, null);
        final Raft leader = awaitLeader(null);
        final ArmedMachine machine = machines.get(nodes.indexOf(leader));
        // Writes submitted together commit and are applied in batches: the one that throws comes
        // after others of its batch that were applied and answered.
        machine.throwFrom = leader.lastLogIndex() + 40;
        final List<CompletableFuture<WriteResult>> writes = new ArrayList<>();
        for (int i = 0; i < 100; i++)
        {
            writes.add(leader.clientWrite(command(5_000 + i)));
        }
        for (final CompletableFuture<WriteResult> w : writes)
        {
            w.get(10, TimeUnit.SECONDS);
        }
        assertInstanceOf(IllegalStateException.class, leader.failure());
        assertTrue(machine.lastAppliedIndex >= machine.throwFrom - 1, "applied up to " + machine.lastAppliedIndex);
        assertEquals(machine.lastAppliedIndex, leader.appliedIndex(), "the applied counter once the failure is seen");
    }

    @ParameterizedTest
    @EnumSource(ThreadingMode.class)
    void aSnapshotThatCannotBeBuiltStopsTheNode(final ThreadingMode mode) throws Exception
    {
        final RecordingStateMachine machine = new RecordingStateMachine()
        {
            @Override
            public void buildSnapshot(final io.ringraft.storage.SnapshotWriter writer)
            {
                throw new IllegalStateException("cannot serialize the state");
            }
        };
        final Raft node = Raft.start(config(1, mode), new InMemoryLogStorage(), network.endpoint(1), machine, Membership.of(1));
        nodes.add(node);
        drive(node, mode);
        await(() -> node.role() == Role.LEADER, "node 1 to lead");
        assertEquals(WriteStatus.OK, node.clientWrite(command(1)).get(10, TimeUnit.SECONDS).status());
        final ExecutionException snapshot = org.junit.jupiter.api.Assertions.assertThrows(ExecutionException.class,
            () -> node.triggerSnapshot().get(10, TimeUnit.SECONDS));
        final RaftException cause = assertInstanceOf(RaftException.class, snapshot.getCause());
        assertEquals(WriteStatus.FATAL, cause.status());
        assertEquals("cannot serialize the state", node.failure().getMessage());
        assertEquals(WriteStatus.FATAL, node.clientWrite(command(2)).get(10, TimeUnit.SECONDS).status());
    }

    @Test
    void aThrowingErrorHandlerCannotHideTheFailure() throws Exception
    {
        final ArmedMachine machine = new ArmedMachine();
        final Raft node = Raft.start(new RaftConfig().nodeId(1).errorHandler(t ->
        {
            throw new IllegalStateException("error handler bug");
        }), new InMemoryLogStorage(), network.endpoint(1), machine, Membership.of(1));
        nodes.add(node);
        node.waitFor(m -> m.isLeader(), Duration.ofSeconds(5));
        machine.armed = true;
        assertEquals(WriteStatus.FATAL, node.clientWrite(command(1)).get(10, TimeUnit.SECONDS).status());
        assertTrue(node.failure().getMessage().contains("state machine broke"), node.failure().toString());
    }
}

package io.ringraft.transport.aeron;

import io.ringraft.EntryBatch;
import io.ringraft.Membership;
import io.ringraft.Raft;
import io.ringraft.RaftConfig;
import io.ringraft.WriteResult;
import io.ringraft.WriteStatus;
import io.ringraft.engine.Role;
import io.ringraft.storage.InMemoryLogStorage;
import io.ringraft.storage.RaftStorageException;
import org.agrona.concurrent.UnsafeBuffer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A storage failure while a follower handles an AppendEntries that came over Aeron stops that node
 * as a whole, as it does over the in-JVM network: Aeron's {@code Image.poll} swallows what a
 * fragment handler throws, so the node must not depend on the exception reaching its agent.
 */
class AeronFailStopTest
{
    private static final int CLUSTER = 31;

    private final List<Raft> nodes = new ArrayList<>();
    private final List<FailingAppendLog> logs = new ArrayList<>();
    private final List<List<Throwable>> reported = new ArrayList<>();

    @AfterEach
    void closeAll()
    {
        nodes.forEach(Raft::close);
    }

    /** A log that, once armed, fails the Nth batch appended from the leader. */
    private static final class FailingAppendLog extends InMemoryLogStorage
    {
        final AtomicInteger appendsUntilFailure = new AtomicInteger(-1);

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

    private void writeAcknowledged(final int count, final Raft except) throws Exception
    {
        int acked = 0;
        final long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
        while (acked < count)
        {
            assertTrue(System.nanoTime() < deadline, "only " + acked + " of " + count + " writes acknowledged");
            final WriteResult r = LoopbackPorts.awaitLeader(nodes, except).clientWrite(new byte[32]).get(20, TimeUnit.SECONDS);
            if (r.isOk())
            {
                acked++;
            }
        }
    }

    @Test
    void aStorageFailureDuringAFollowersAppendOverAeronStopsThatNodeAsAWhole() throws Exception
    {
        final Map<Long, String> endpoints = LoopbackPorts.endpoints(1, 2, 3);
        for (long id = 1; id <= 3; id++)
        {
            final FailingAppendLog log = new FailingAppendLog();
            logs.add(log);
            final List<Throwable> errors = new CopyOnWriteArrayList<>();
            reported.add(errors);
            final AeronRaftNetwork network = new AeronRaftNetwork(new AeronTransportConfig()
                .nodeId(id).clusterId(CLUSTER).endpoints(endpoints).termLength(256 * 1024).embeddedDriver(true));
            nodes.add(Raft.start(new RaftConfig().nodeId(id).randomSeed(id * 17).electionTimeout(500, 1000, TimeUnit.MILLISECONDS)
                .maxPayloadLength(16 * 1024).errorHandler(errors::add), log, network, new NoopStateMachine(), Membership.of(1, 2, 3)));
        }
        writeAcknowledged(20, null);
        final Raft leader = LoopbackPorts.awaitLeader(nodes, null);
        final int followerIndex = leader == nodes.get(0) ? 1 : 0;
        final Raft follower = nodes.get(followerIndex);
        logs.get(followerIndex).appendsUntilFailure.set(3);

        final long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        while (follower.failure() == null)
        {
            assertTrue(System.nanoTime() < deadline, "the follower did not fail");
            writeAcknowledged(10, null);
        }
        assertInstanceOf(RaftStorageException.class, follower.failure());
        assertEquals(WriteStatus.FATAL, follower.clientWrite(new UnsafeBuffer(new byte[8]), 0, 8, 1, (c, s, i, l, b, o, n) -> { }));

        // Stopped as a whole: its log does not move while the others commit many more writes, and
        // the failure was reported once (not once per message that followed it).
        final long lastLogIndex = logs.get(followerIndex).lastLogIndex();
        writeAcknowledged(300, follower);
        assertEquals(lastLogIndex, logs.get(followerIndex).lastLogIndex(), "the failed node appended nothing more");
        assertEquals(List.of(follower.failure()), reported.get(followerIndex), "reported once");
        assertTrue(follower.role() != Role.LEADER);
    }
}

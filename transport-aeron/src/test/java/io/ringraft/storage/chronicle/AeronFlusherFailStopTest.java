package io.ringraft.storage.chronicle;

import io.ringraft.Membership;
import io.ringraft.Raft;
import io.ringraft.RaftConfig;
import io.ringraft.WriteResult;
import io.ringraft.WriteStatus;
import io.ringraft.engine.Role;
import io.ringraft.statemachine.KvStateMachine;
import io.ringraft.storage.RaftStorageException;
import io.ringraft.transport.aeron.AeronRaftNetwork;
import io.ringraft.transport.aeron.LoopbackPorts;
import io.ringraft.transport.aeron.AeronTransportConfig;
import org.agrona.concurrent.UnsafeBuffer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A log sync that fails on a follower's flusher thread (an I/O error) stops that node as a whole
 * when the entries it was syncing came over Aeron, as it does over the in-JVM network
 * ({@code SlowDiskClusterTest} in storage-chronicle): fail-stop does not depend on which network
 * delivered the message. In this package to reach the flusher's fault hook.
 */
class AeronFlusherFailStopTest
{
    private static final int CLUSTER = 43;

    @TempDir
    Path dir;

    private final List<Raft> nodes = new ArrayList<>();
    private final List<ChronicleLogStorage> logs = new ArrayList<>();
    private final List<List<Throwable>> reported = new ArrayList<>();

    @AfterEach
    void closeAll()
    {
        nodes.forEach(Raft::close);
    }

    private static byte[] put(final long n)
    {
        final byte[] key = ("k" + n).getBytes(StandardCharsets.UTF_8);
        final byte[] value = ("v" + n).getBytes(StandardCharsets.UTF_8);
        final byte[] command = new byte[KvStateMachine.commandLength(key, value, null)];
        KvStateMachine.encodeCommand(new UnsafeBuffer(command), 0, KvStateMachine.PUT, 1, n, key, value, null);
        return command;
    }

    private void writeAcknowledged(final long first, final int count, final Raft except) throws Exception
    {
        int acked = 0;
        long value = first;
        final long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
        while (acked < count)
        {
            assertTrue(System.nanoTime() < deadline, "only " + acked + " of " + count + " writes acknowledged");
            final WriteResult r = LoopbackPorts.awaitLeader(nodes, except).clientWrite(put(value++)).get(20, TimeUnit.SECONDS);
            if (r.isOk())
            {
                acked++;
            }
        }
    }

    @Test
    void aSyncThatFailsOnAFollowersFlusherStopsThatNodeOverAeron() throws Exception
    {
        final Map<Long, String> endpoints = LoopbackPorts.endpoints(1, 2, 3);
        for (long id = 1; id <= 3; id++)
        {
            final List<Throwable> errors = new CopyOnWriteArrayList<>();
            reported.add(errors);
            final ChronicleLogStorage log = ChronicleLogStorage.open(new ChronicleStorageContext().directory(dir.resolve("node-" + id)));
            logs.add(log);
            final AeronRaftNetwork network = new AeronRaftNetwork(new AeronTransportConfig()
                .nodeId(id).clusterId(CLUSTER).endpoints(endpoints).termLength(256 * 1024).embeddedDriver(true));
            nodes.add(Raft.start(new RaftConfig().nodeId(id).randomSeed(id * 19).electionTimeout(500, 1000, TimeUnit.MILLISECONDS)
                .maxPayloadLength(16 * 1024).errorHandler(errors::add), log, FileSnapshotStore.open(dir.resolve("node-" + id + "-snapshots")),
                network, new KvStateMachine(false), Membership.of(1, 2, 3)));
        }
        writeAcknowledged(1, 20, null);
        final Raft leader = LoopbackPorts.awaitLeader(nodes, null);
        final int followerAt = leader == nodes.get(0) ? 1 : 0;
        final Raft follower = nodes.get(followerAt);

        final IOException eio = new IOException("Input/output error");
        logs.get(followerAt).flusher().syncHook = () ->
        {
            throw new RaftStorageException("cannot sync the log: " + eio, eio);
        };
        final long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        long value = 1_000;
        while (follower.failure() == null)
        {
            assertTrue(System.nanoTime() < deadline, "the failed sync did not stop the follower");
            writeAcknowledged(value, 10, null);
            value += 10;
        }
        final Throwable failure = follower.failure();
        assertInstanceOf(RaftStorageException.class, failure);
        assertTrue(failure.getMessage().contains("flusher thread"), failure.getMessage());
        assertSame(eio, failure.getCause().getCause(), "the I/O error is the cause");
        assertEquals(List.of(failure), reported.get(followerAt), "reported once");
        assertEquals(WriteStatus.FATAL, follower.clientWrite(put(-1)).get(10, TimeUnit.SECONDS).status());
        assertTrue(follower.role() != Role.LEADER);

        // Stopped as a whole: its log does not move while the other two commit many more writes.
        final long lastLogIndex = follower.lastLogIndex();
        writeAcknowledged(100_000, 200, follower);
        assertEquals(lastLogIndex, follower.lastLogIndex(), "the failed node appended nothing more");
        assertTrue(LoopbackPorts.awaitLeader(nodes, follower).commitIndex() > lastLogIndex + 150, "the others went on committing");
    }
}

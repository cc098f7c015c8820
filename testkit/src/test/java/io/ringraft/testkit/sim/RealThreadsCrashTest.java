package io.ringraft.testkit.sim;

import io.ringraft.EntryType;
import io.ringraft.LogId;
import io.ringraft.Membership;
import io.ringraft.Raft;
import io.ringraft.RaftConfig;
import io.ringraft.RaftMetrics;
import io.ringraft.Vote;
import io.ringraft.WriteResult;
import io.ringraft.WriteStatus;
import io.ringraft.network.InJvmNetwork;
import io.ringraft.storage.InMemoryLogStorage;
import io.ringraft.testkit.history.OpKind;
import io.ringraft.testkit.kv.KvCommand;
import io.ringraft.statemachine.KvStateMachine;
import org.agrona.concurrent.UnsafeBuffer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Off the simulator, on real threads: {@link InMemoryLogStorage#crash()} loses what was not flushed, and a
 * node restarted on the crashed log rejoins; {@link RaftMetrics} shows the vote, the last log id, the
 * flushed, snapshot and purged indexes that a test of a crash needs.
 */
final class RealThreadsCrashTest
{
    private final InJvmNetwork network = new InJvmNetwork(4096);
    private final List<Raft> nodes = new ArrayList<>();

    @AfterEach
    void close()
    {
        nodes.forEach(Raft::close);
    }

    @Test
    void aCrashKeepsWhatTheLastFlushReportedAndNothingAfter()
    {
        final InMemoryLogStorage log = new InMemoryLogStorage();
        append(log, 1, 1);
        append(log, 1, 2);
        append(log, 1, 3);
        assertEquals(3, log.flush());
        append(log, 1, 4);
        append(log, 2, 5);
        log.saveVote(new Vote(2, 1, false));
        log.crash();
        assertEquals(new LogId(1, 3), log.lastLogId());
        assertEquals(new Vote(2, 1, false), log.readVote(), "a saved vote is durable at once");

        // A truncation after the flush: the crash keeps the prefix before it (the log was in that state).
        append(log, 1, 4);
        log.flush();
        log.truncateSuffix(3);
        append(log, 3, 3);
        log.crash();
        assertEquals(new LogId(1, 2), log.lastLogId());

        // A closed log opens again on a crash, for a node restarted on it.
        log.close();
        assertThrows(IllegalStateException.class, () -> append(log, 1, 3));
        log.crash();
        append(log, 1, 3);
        assertEquals(3, log.flush());
    }

    @Test
    void aNodeRestartedOnItsCrashedLogRejoinsAndItsMetricsShowItsDurableState() throws Exception
    {
        final long[] ids = {1, 2, 3};
        final InMemoryLogStorage[] logs = new InMemoryLogStorage[4];
        for (final long id : ids)
        {
            logs[(int)id] = new InMemoryLogStorage();
            nodes.add(Raft.start(config(id), logs[(int)id], network.endpoint(id), new KvStateMachine(), Membership.of(ids)));
        }
        final Raft leader = awaitLeader();
        long lastWrite = 0;
        for (int i = 0; i < 50; i++)
        {
            final WriteResult result = leader.clientWrite(put("k" + i, "v" + i)).get(10, TimeUnit.SECONDS);
            assertEquals(WriteStatus.OK, result.status());
            lastWrite = result.index();
        }
        final long written = lastWrite;
        final Raft follower = nodes.stream().filter(n -> n != leader).findFirst().orElseThrow();
        final long id = follower.nodeId();
        final RaftMetrics before = follower.waitFor(m -> m.appliedIndex() >= written, Duration.ofSeconds(10));
        assertEquals(leader.term(), before.vote().term());
        // A follower may have voted for itself or another candidate in the leader's term: the metric
        // shows the vote the node persisted, whoever it went to.
        assertEquals(logs[(int)follower.nodeId()].readVote().votedFor(), before.vote().votedFor());
        assertEquals(before.term(), before.lastLogTerm());
        assertTrue(before.flushedIndex() >= before.committedIndex(), before.toString());

        follower.close();
        nodes.remove(follower);
        logs[(int)id].crash();
        assertTrue(logs[(int)id].lastLogIndex() >= before.committedIndex(), "a follower acknowledges only flushed entries");
        final KvStateMachine fresh = new KvStateMachine();
        final Raft restarted = Raft.start(config(id), logs[(int)id], network.endpoint(id), fresh, null);
        nodes.add(restarted);
        assertEquals(before.vote(), restarted.waitFor(m -> m.vote().term() > 0, Duration.ofSeconds(10)).vote(),
            "the vote survived the crash");
        final WriteResult afterCrash = leader.clientWrite(put("after", "crash")).get(10, TimeUnit.SECONDS);
        assertEquals(WriteStatus.OK, afterCrash.status());
        final RaftMetrics after = restarted.waitFor(m -> m.appliedIndex() >= afterCrash.index(), Duration.ofSeconds(10));
        assertEquals(afterCrash.index(), after.lastLogIndex());
        assertEquals(after.term(), after.lastLogTerm());
        assertEquals(0, after.snapshotIndex());
        assertEquals(0, after.purgedIndex());
        assertEquals("crash", fresh.get("after"));
        assertEquals("v49", fresh.get("k49"));
    }

    private static RaftConfig config(final long id)
    {
        return new RaftConfig().nodeId(id).electionTimeout(1_000, 2_000, TimeUnit.MILLISECONDS)
            .heartbeatInterval(50, TimeUnit.MILLISECONDS);
    }

    private Raft awaitLeader() throws InterruptedException
    {
        final long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
        while (System.nanoTime() < deadline)
        {
            for (final Raft node : nodes)
            {
                if (node.isLeader())
                {
                    return node;
                }
            }
            Thread.sleep(10);
        }
        throw new AssertionError("no leader within 20 s");
    }

    private static byte[] put(final String key, final String value)
    {
        return new KvCommand(OpKind.PUT, 1, 0, key, value, null).encode();
    }

    private static void append(final InMemoryLogStorage log, final long term, final long index)
    {
        final byte[] payload = {1};
        log.append(term, index, EntryType.NORMAL, new UnsafeBuffer(payload), 0, 1);
    }
}

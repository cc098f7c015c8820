package io.ringraft.engine;

import io.ringraft.LogId;
import io.ringraft.Membership;
import io.ringraft.Vote;
import io.ringraft.engine.RecordingOutput.AppendClient;
import io.ringraft.engine.RecordingOutput.Apply;
import io.ringraft.engine.RecordingOutput.Replicate;
import io.ringraft.engine.RecordingOutput.RoleChanged;
import io.ringraft.network.AppendEntriesResponse;
import org.junit.jupiter.api.Test;

import java.util.List;

import static io.ringraft.engine.EngineFixture.ELECTION_MAX;
import static io.ringraft.engine.EngineFixture.ELECTION_MIN;
import static io.ringraft.engine.EngineFixture.HEARTBEAT;
import static io.ringraft.engine.EngineFixture.MS;
import static io.ringraft.engine.EngineFixture.config;
import static io.ringraft.engine.EngineFixture.follower;
import static io.ringraft.engine.EngineFixture.leader;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The leader: client writes, the commitment rule of Raft §5.4.2, heartbeats, check-quorum, ReadIndex (thesis §6.4). */
class LeaderHandlerTest
{
    private static final Membership THREE = Membership.of(1, 2, 3);

    private static AppendEntriesResponse ack(final long from, final long term, final long match, final long seq)
    {
        return new AppendEntriesResponse(from, 1, term, true, match, 0, 0, seq);
    }

    @Test
    void followerRefusesClientWrites()
    {
        final EngineFixture f = follower(config(2), new Vote(3, 1, false), THREE);
        assertEquals(Engine.NOT_LEADER, f.engine.clientWrite(1));
        assertEquals(List.of(), f.out.take());
    }

    @Test
    void clientWriteAppendsInCurrentTermThenReplicates()
    {
        final EngineFixture f = leader(config(1), 6, THREE, 3, 5);
        f.engine.handle(ack(2, 6, 4, 0));
        f.out.take();
        assertEquals(5, f.engine.clientWrite(3));
        assertEquals(List.of(
            new AppendClient(6, 5, 3),
            new Replicate(2, 6, new LogId(6, 4), 5, 8, 4, 0)), f.out.take(), "node 3 is still probing, its probe unanswered");
    }

    @Test
    void commitsOwnTermEntryOnQuorumAndAppliesFromTheStart()
    {
        final EngineFixture f = leader(config(1), 6, THREE, 3, 5);
        f.engine.handle(ack(2, 6, 4, 0));
        assertEquals(4, f.engine.committedIndex());
        assertTrue(f.out.take().contains(new Apply(1, 4)));
    }

    @Test
    void doesNotCommitOlderTermEntryByCountingReplicas()
    {
        // Raft §5.4.2, Figure 8: index 3 (term 5) is on a majority, but only the blank entry of
        // term 6 at index 4 may be committed by counting.
        final EngineFixture f = leader(config(1), 6, THREE, 3, 5);
        f.engine.handle(ack(2, 6, 3, 0));
        assertEquals(0, f.engine.committedIndex());
        assertEquals(List.of(), f.out.take(Apply.class));
        f.engine.handle(ack(3, 6, 4, 0));
        assertEquals(4, f.engine.committedIndex());
    }

    @Test
    void plantedBugCommitsOlderTermEntryByCounting()
    {
        final EngineFixture f = leader(config(1).plantedBug(PlantedBug.COMMIT_OLD_TERM_BY_COUNTING), 6, THREE, 3, 5);
        f.engine.handle(ack(2, 6, 3, 0));
        assertEquals(3, f.engine.committedIndex());
    }

    @Test
    void leaderCountsItselfOnlyOnceItsLogIsDurable()
    {
        final EngineFixture f = leader(config(1), 6, THREE, 3, 5);
        f.engine.handle(ack(2, 6, 4, 0));
        f.engine.clientWrite(1);
        f.engine.handle(ack(2, 6, 5, 0));
        assertEquals(4, f.engine.committedIndex(), "index 5 is durable on node 2 only: the leader's copy is not yet");
        f.engine.onLogFlushed(5);
        assertEquals(5, f.engine.committedIndex());
    }

    @Test
    void heartbeatGoesToEveryFollowerWithANewRound()
    {
        final EngineFixture f = leader(config(1), 6, THREE, 3, 5);
        f.engine.tick(ELECTION_MAX + HEARTBEAT);
        final List<Replicate> sent = f.out.take(Replicate.class);
        assertEquals(List.of(
            new Replicate(2, 6, new LogId(0, 0), 1, 1, 0, 1),
            new Replicate(3, 6, new LogId(0, 0), 1, 1, 0, 1)), sent);
    }

    @Test
    void checkQuorumStepsDownWhenNoQuorumAnsweredWithinAnElectionTimeout()
    {
        final EngineFixture f = leader(config(1), 6, THREE, 3, 5);
        final long start = f.engine.nowNanos;
        // answers within a heartbeat interval of each other: a fast link, no patience added
        f.engine.tick(start + HEARTBEAT / 2);
        f.engine.handle(ack(2, 6, 4, 1));
        f.engine.tick(start + ELECTION_MIN);
        assertEquals(Role.LEADER, f.engine.role(), "node 2 answered within the timeout");
        f.out.take();
        f.engine.tick(start + 2 * ELECTION_MIN);
        assertEquals(Role.FOLLOWER, f.engine.role());
        assertTrue(f.out.take().contains(new RoleChanged(Role.FOLLOWER, 6, Vote.NO_NODE)));
    }

    @Test
    void checkQuorumWaitsLongerOnALinkSeenToBeSlow()
    {
        final EngineFixture f = leader(config(1), 6, THREE, 3, 5);
        final long start = f.engine.nowNanos;
        // node 2's answers come 120 ms apart: 70 ms more than the heartbeat interval
        final long gap = 120 * MS;
        f.engine.tick(start + gap);
        f.engine.handle(ack(2, 6, 4, 1));
        final long patience = gap - HEARTBEAT;
        assertEquals(ELECTION_MIN + 2 * patience, f.engine.electionTimeoutMinNanos());
        f.engine.tick(start + ELECTION_MIN);
        f.engine.tick(start + gap + ELECTION_MIN + patience);
        assertEquals(Role.LEADER, f.engine.role(), "beyond the configured timeout, within the patience the slow link asked for");
        f.engine.tick(start + ELECTION_MIN + 2 * (ELECTION_MIN + 2 * patience));
        assertEquals(Role.FOLLOWER, f.engine.role(), "no answer for longer than the patience allows");
    }

    @Test
    void patienceIsNotRaisedByAnOutageAndDecays()
    {
        final EngineFixture f = leader(config(1).checkQuorum(false), 6, THREE, 3, 5);
        final long start = f.engine.nowNanos;
        f.engine.tick(start + 3 * ELECTION_MAX);
        f.engine.handle(ack(2, 6, 4, 1));
        assertEquals(ELECTION_MIN, f.engine.electionTimeoutMinNanos(), "a gap beyond twice the election timeout is an outage");
        f.engine.tick(start + 3 * ELECTION_MAX + 100 * MS);
        f.engine.handle(ack(2, 6, 4, 1));
        assertEquals(ELECTION_MIN + 2 * (50 * MS), f.engine.electionTimeoutMinNanos());
        f.engine.tick(start + 3 * ELECTION_MAX + 100 * MS + 16 * 50 * MS);
        assertEquals(ELECTION_MIN, f.engine.electionTimeoutMinNanos(), "1 ms less per 16 ms");
    }
}

package io.ringraft.engine;

import io.ringraft.LogId;
import io.ringraft.Membership;
import io.ringraft.Vote;
import io.ringraft.engine.RecordingOutput.ReadFailed;
import io.ringraft.engine.RecordingOutput.ReadReady;
import io.ringraft.engine.RecordingOutput.Replicate;
import io.ringraft.engine.RecordingOutput.Send;
import io.ringraft.network.AppendEntriesRequest;
import io.ringraft.network.AppendEntriesResponse;
import io.ringraft.network.ReadIndexRequest;
import io.ringraft.network.ReadIndexResponse;
import io.ringraft.network.VoteRequest;
import io.ringraft.network.VoteResponse;
import org.junit.jupiter.api.Test;

import java.util.List;

import static io.ringraft.engine.EngineFixture.ELECTION_MAX;
import static io.ringraft.engine.EngineFixture.ELECTION_MIN;
import static io.ringraft.engine.EngineFixture.HEARTBEAT;
import static io.ringraft.engine.EngineFixture.config;
import static io.ringraft.engine.EngineFixture.follower;
import static io.ringraft.engine.EngineFixture.leader;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Reads without log entries: ReadIndex, follower reads and lease reads (Raft thesis §6.4). */
class ReadHandlerTest
{
    private static final Membership THREE = Membership.of(1, 2, 3);

    private static AppendEntriesResponse ack(final long from, final long term, final long match, final long seq)
    {
        return new AppendEntriesResponse(from, 1, term, true, match, 0, 0, seq);
    }

    @Test
    void readIndexIsReadyOnceAQuorumAnswersARoundStartedAfterTheRequest()
    {
        final EngineFixture f = leader(config(1), 6, THREE, 3, 5);
        f.engine.handle(ack(2, 6, 4, 0));
        f.out.take();
        f.engine.readIndex(77);
        final List<Replicate> round = f.out.take(Replicate.class);
        assertEquals(2, round.size());
        final long seq = round.get(0).seq();
        f.engine.handle(ack(3, 6, 0, seq - 1));
        assertEquals(List.of(), f.out.take(ReadReady.class), "an answer to an older round confirms nothing");
        f.engine.handle(ack(3, 6, 0, seq));
        assertEquals(List.of(new ReadReady(77, 4)), f.out.take(ReadReady.class));
    }

    @Test
    void readIndexBeforeTheTermsFirstEntryCommitsWaitsForIt()
    {
        final EngineFixture f = leader(config(1), 6, THREE, 3, 5);
        f.engine.readIndex(5);
        final long seq = f.out.take(Replicate.class).get(0).seq();
        f.engine.handle(ack(2, 6, 0, seq));
        assertEquals(List.of(new ReadReady(5, 4)), f.out.take(ReadReady.class), "read index is the blank entry of the term");
    }

    @Test
    void followerForwardsTheReadToTheLeaderAndServesItsAnswer()
    {
        final EngineFixture f = follower(config(2), new Vote(3, 1, false), THREE);
        f.engine.handle(new AppendEntriesRequest(1, 2, 3, new LogId(0, 1), 0, 0, List.of()));
        f.out.take();
        f.engine.readIndex(9);
        assertEquals(List.of(new Send(new ReadIndexRequest(2, 1, 3, 9))), f.out.take());
        f.engine.handle(new ReadIndexResponse(1, 2, 3, 9, 12, true, 1));
        assertEquals(List.of(new ReadReady(9, 12)), f.out.take(ReadReady.class));
    }

    @Test
    void leaderAnswersAFollowersReadOnceConfirmed()
    {
        final EngineFixture f = leader(config(1), 6, THREE, 3, 5);
        f.engine.handle(ack(2, 6, 4, 0));
        f.out.take();
        f.engine.handle(new ReadIndexRequest(3, 1, 6, 41));
        final long seq = f.out.take(Replicate.class).get(0).seq();
        f.engine.handle(ack(2, 6, 4, seq));
        assertEquals(List.of(new Send(new ReadIndexResponse(1, 3, 6, 41, 4, true, 1))), f.out.take(Send.class));
    }

    @Test
    void forwardedReadFailsWhenTheLeaderChanges()
    {
        final EngineFixture f = follower(config(2), new Vote(3, 1, false), THREE);
        f.engine.handle(new AppendEntriesRequest(1, 2, 3, new LogId(0, 1), 0, 0, List.of()));
        f.engine.readIndex(9);
        f.out.take();
        f.engine.handle(new AppendEntriesRequest(3, 2, 4, new LogId(0, 1), 0, 0, List.of()));
        assertEquals(List.of(new ReadFailed(9, 3)), f.out.take(ReadFailed.class));
        f.engine.handle(new ReadIndexResponse(1, 2, 3, 9, 12, true, 1));
        assertEquals(List.of(), f.out.take(ReadReady.class), "a late answer from the old leader is ignored");
    }

    @Test
    void forwardedReadWithoutAnswerIsSentAgainThenFails()
    {
        final EngineFixture f = follower(config(2), new Vote(3, 1, false), THREE);
        final AppendEntriesRequest heartbeat = new AppendEntriesRequest(1, 2, 3, new LogId(0, 1), 0, 0, List.of());
        f.engine.handle(heartbeat);
        f.out.take();
        f.engine.readIndex(9);
        assertEquals(List.of(new Send(new ReadIndexRequest(2, 1, 3, 9))), f.out.take());
        assertTrue(f.engine.nextDeadlineNanos() <= ELECTION_MAX, "the runtime ticks by the forwarded read's deadline");
        // The leader stays heard from (its heartbeats arrive), but the request or its answer is lost.
        for (long t = HEARTBEAT; t < ELECTION_MAX; t += HEARTBEAT)
        {
            f.engine.tick(t);
            f.engine.handle(heartbeat);
        }
        f.out.take();
        f.engine.tick(ELECTION_MAX);
        assertEquals(List.of(new Send(new ReadIndexRequest(2, 1, 3, 9))), f.out.take(Send.class), "sent again after an election timeout");
        for (long t = ELECTION_MAX + HEARTBEAT; t < 2 * ELECTION_MAX; t += HEARTBEAT)
        {
            f.engine.tick(t);
            f.engine.handle(heartbeat);
        }
        assertEquals(List.of(), f.out.take(ReadFailed.class));
        f.engine.tick(2 * ELECTION_MAX);
        assertEquals(List.of(new ReadFailed(9, 1)), f.out.take(ReadFailed.class), "fails after the second attempt, naming the leader");
        f.engine.handle(new ReadIndexResponse(1, 2, 3, 9, 12, true, 1));
        assertEquals(List.of(), f.out.take(ReadReady.class), "a late answer is ignored");
    }

    @Test
    void answerToTheSecondAttemptServesTheRead()
    {
        final EngineFixture f = follower(config(2), new Vote(3, 1, false), THREE);
        final AppendEntriesRequest heartbeat = new AppendEntriesRequest(1, 2, 3, new LogId(0, 1), 0, 0, List.of());
        f.engine.handle(heartbeat);
        f.engine.readIndex(9);
        f.engine.tick(ELECTION_MAX - HEARTBEAT);
        f.engine.handle(heartbeat);
        f.engine.tick(ELECTION_MAX);
        f.engine.handle(new ReadIndexResponse(1, 2, 3, 9, 12, true, 1));
        assertEquals(List.of(new ReadReady(9, 12)), f.out.take(ReadReady.class));
        f.engine.tick(2 * ELECTION_MAX - HEARTBEAT);
        f.engine.handle(heartbeat);
        f.engine.tick(2 * ELECTION_MAX);
        assertEquals(List.of(), f.out.take(ReadFailed.class), "an answered read does not fail later");
    }

    @Test
    void forwardedReadFailsWhenTheFollowerStandsForPreVote()
    {
        final EngineFixture f = follower(config(2), new Vote(3, 1, false), THREE);
        f.engine.handle(new AppendEntriesRequest(1, 2, 3, new LogId(0, 1), 0, 0, List.of()));
        f.engine.readIndex(9);
        f.out.take();
        // The leader falls silent: this node's election timer fires before the read's deadline.
        f.engine.tick(f.engine.electionDeadlineNanos);
        assertEquals(Role.PRE_CANDIDATE, f.engine.role());
        assertEquals(List.of(new ReadFailed(9, Vote.NO_NODE)), f.out.take(ReadFailed.class));
    }

    @Test
    void forwardedReadFailsWhenTheFollowerStandsForElectionOrWinsIt()
    {
        final EngineFixture f = follower(config(2).preVote(false), new Vote(3, 1, false), THREE);
        f.engine.handle(new AppendEntriesRequest(1, 2, 3, new LogId(0, 1), 0, 0, List.of()));
        f.engine.readIndex(9);
        f.out.take();
        f.engine.tick(f.engine.electionDeadlineNanos);
        assertEquals(Role.CANDIDATE, f.engine.role());
        assertEquals(List.of(new ReadFailed(9, Vote.NO_NODE)), f.out.take(ReadFailed.class));

        final EngineFixture g = follower(config(2), new Vote(3, 1, false), THREE);
        g.engine.handle(new AppendEntriesRequest(1, 2, 3, new LogId(0, 1), 0, 0, List.of()));
        g.engine.readIndex(10);
        g.out.take();
        g.engine.triggerElection();
        g.engine.handle(new VoteResponse(3, 2, 4, true, false));
        assertEquals(Role.LEADER, g.engine.role());
        assertEquals(List.of(new ReadFailed(10, Vote.NO_NODE)), g.out.take(ReadFailed.class), "failed when it stood, once");
    }

    @Test
    void readWithoutAKnownLeaderFailsAtOnce()
    {
        final EngineFixture f = follower(config(2), new Vote(3, Vote.NO_NODE, false), THREE);
        f.engine.readIndex(9);
        assertEquals(List.of(new ReadFailed(9, Vote.NO_NODE)), f.out.take());
    }

    @Test
    void steppingDownFailsPendingReads()
    {
        final EngineFixture f = leader(config(1), 6, THREE, 3, 5);
        f.engine.readIndex(1);
        f.engine.readIndex(2);
        f.out.take();
        f.engine.handle(new AppendEntriesResponse(2, 1, 7, false, 0, 0, 0, 0));
        assertEquals(Role.FOLLOWER, f.engine.role());
        assertEquals(List.of(new ReadFailed(1, Vote.NO_NODE), new ReadFailed(2, Vote.NO_NODE)), f.out.take(ReadFailed.class));
    }

    @Test
    void leaseHoldsForTheElectionTimeoutLessTheDriftFromTheAcknowledgedRoundsStart()
    {
        final EngineFixture f = leader(config(1).maxClockDriftNanos(10 * EngineFixture.MS), 6, THREE, 3, 5);
        final long start = f.engine.nowNanos;
        assertEquals(-1, f.engine.leaseRead(), "no entry of the term committed yet");
        f.engine.tick(start + HEARTBEAT);
        final long roundStart = f.engine.nowNanos;
        final long seq = f.out.take(Replicate.class).get(0).seq();
        f.engine.tick(start + HEARTBEAT + 5 * EngineFixture.MS);
        f.engine.handle(ack(2, 6, 4, seq));
        assertEquals(4, f.engine.leaseRead());
        f.engine.tick(roundStart + ELECTION_MIN - 10 * EngineFixture.MS - 1);
        assertEquals(4, f.engine.leaseRead());
        f.engine.tick(roundStart + ELECTION_MIN - 10 * EngineFixture.MS);
        assertEquals(-1, f.engine.leaseRead(), "the lease ends a drift bound before the voters' election timeout");
    }

    @Test
    void restartedVoterGrantsNoVoteWithinAnElectionTimeout()
    {
        final EngineFixture f = follower(config(2), new Vote(3, Vote.NO_NODE, false), THREE);
        f.engine.voteHoldUntilNanos = ELECTION_MIN; // as start(0) leaves it
        f.engine.handle(new VoteRequest(3, 2, 4, new LogId(0, 1), true, false));
        assertEquals(List.of(new Send(new VoteResponse(2, 3, 3, false, true))), f.out.take());
        f.engine.tick(ELECTION_MIN);
        f.engine.handle(new VoteRequest(3, 2, 4, new LogId(0, 1), true, false));
        final List<Object> cmds = f.out.take();
        assertTrue(cmds.contains(new Send(new VoteResponse(2, 3, 4, true, true))), cmds.toString());
    }

    @Test
    void withoutCheckQuorumNoLeaseHolds()
    {
        // Voters that do not check quorum vote whenever asked, so a lease would protect nothing.
        final EngineFixture f = leader(config(1).checkQuorum(false), 6, THREE, 3, 5);
        f.engine.tick(f.engine.nowNanos + HEARTBEAT);
        final long seq = f.out.take(Replicate.class).get(0).seq();
        f.engine.handle(ack(2, 6, 4, seq));
        assertEquals(-1, f.engine.leaseRead());
    }
}

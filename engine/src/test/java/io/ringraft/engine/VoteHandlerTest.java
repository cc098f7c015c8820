package io.ringraft.engine;

import io.ringraft.Entry;
import io.ringraft.LogId;
import io.ringraft.Membership;
import io.ringraft.Vote;
import io.ringraft.engine.RecordingOutput.Append;
import io.ringraft.engine.RecordingOutput.Replicate;
import io.ringraft.engine.RecordingOutput.RoleChanged;
import io.ringraft.engine.RecordingOutput.SaveVote;
import io.ringraft.engine.RecordingOutput.Send;
import io.ringraft.network.AppendEntriesRequest;
import io.ringraft.network.TimeoutNow;
import io.ringraft.network.VoteRequest;
import io.ringraft.network.VoteResponse;
import org.junit.jupiter.api.Test;

import java.util.List;

import static io.ringraft.engine.EngineFixture.ELECTION_MAX;
import static io.ringraft.engine.EngineFixture.ELECTION_MIN;
import static io.ringraft.engine.EngineFixture.HEARTBEAT;
import static io.ringraft.engine.EngineFixture.MS;
import static io.ringraft.engine.EngineFixture.config;
import static io.ringraft.engine.EngineFixture.follower;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Elections: Raft §5.2 (leader election), §5.4.1 (election restriction), thesis §9.6 (pre-vote) and §4.2.3 (disruptive servers). */
class VoteHandlerTest
{
    private static final Membership THREE = Membership.of(1, 2, 3);

    @Test
    void electionTimeoutStartsPreVoteWithoutChangingTerm()
    {
        final EngineFixture f = follower(config(1), new Vote(5, Vote.NO_NODE, false), THREE, 3, 5);
        f.engine.tick(ELECTION_MAX);
        assertEquals(Role.PRE_CANDIDATE, f.engine.role());
        assertEquals(5, f.engine.currentTerm());
        final LogId last = new LogId(5, 3);
        assertEquals(List.of(
            new RoleChanged(Role.PRE_CANDIDATE, 5, Vote.NO_NODE),
            new Send(new VoteRequest(1, 2, 6, last, true, false)),
            new Send(new VoteRequest(1, 3, 6, last, true, false))), f.out.take());
    }

    @Test
    void electionTimeoutWithoutPreVoteStandsAtOnce()
    {
        final EngineFixture f = follower(config(1).preVote(false), new Vote(5, Vote.NO_NODE, false), THREE, 3, 5);
        f.engine.tick(ELECTION_MAX);
        assertEquals(Role.CANDIDATE, f.engine.role());
        assertEquals(List.of(
            new SaveVote(new Vote(6, 1, false)),
            new RoleChanged(Role.CANDIDATE, 6, Vote.NO_NODE),
            new Send(new VoteRequest(1, 2, 6, new LogId(5, 3), false, false)),
            new Send(new VoteRequest(1, 3, 6, new LogId(5, 3), false, false))), f.out.take());
    }

    @Test
    void preVoteQuorumStartsElectionAndPersistsOwnVoteBeforeAsking()
    {
        final EngineFixture f = follower(config(1), new Vote(5, Vote.NO_NODE, false), THREE, 3, 5);
        f.engine.tick(ELECTION_MAX);
        f.out.take();
        f.engine.handle(new VoteResponse(2, 1, 6, true, true));
        assertEquals(Role.CANDIDATE, f.engine.role());
        assertEquals(new Vote(6, 1, false), f.engine.vote());
        assertEquals(List.of(
            new SaveVote(new Vote(6, 1, false)),
            new RoleChanged(Role.CANDIDATE, 6, Vote.NO_NODE),
            new Send(new VoteRequest(1, 2, 6, new LogId(5, 3), false, false)),
            new Send(new VoteRequest(1, 3, 6, new LogId(5, 3), false, false))), f.out.take());
    }

    @Test
    void grantsVotePersistingItBeforeAnswering()
    {
        final EngineFixture f = follower(config(2), new Vote(5, Vote.NO_NODE, false), THREE, 3, 5);
        f.engine.handle(new VoteRequest(1, 2, 6, new LogId(5, 3), false, false));
        assertEquals(List.of(
            new SaveVote(new Vote(6, Vote.NO_NODE, false)),
            new RoleChanged(Role.FOLLOWER, 6, Vote.NO_NODE),
            new SaveVote(new Vote(6, 1, false)),
            new Send(new VoteResponse(2, 1, 6, true, false))), f.out.take());
    }

    @Test
    void grantsAtMostOneVotePerTerm()
    {
        final EngineFixture f = follower(config(2), new Vote(6, 1, false), THREE, 3, 5);
        f.engine.handle(new VoteRequest(3, 2, 6, new LogId(5, 3), false, false));
        assertEquals(List.of(new Send(new VoteResponse(2, 3, 6, false, false))), f.out.take());
        f.engine.handle(new VoteRequest(1, 2, 6, new LogId(5, 3), false, false));
        assertEquals(List.of(new Send(new VoteResponse(2, 1, 6, true, false))), f.out.take(), "a repeated request from the same candidate is granted again");
    }

    @Test
    void plantedDoubleVoteGrantsTwice()
    {
        final EngineFixture f = follower(config(2).plantedBug(PlantedBug.DOUBLE_VOTE), new Vote(6, 1, false), THREE, 3, 5);
        f.engine.handle(new VoteRequest(3, 2, 6, new LogId(5, 3), false, false));
        assertEquals(List.of(new SaveVote(new Vote(6, 3, false)), new Send(new VoteResponse(2, 3, 6, true, false))), f.out.take());
    }

    @Test
    void refusesCandidateWithLowerLastTerm()
    {
        final EngineFixture f = follower(config(2), new Vote(5, Vote.NO_NODE, false), THREE, 3, 5);
        f.engine.handle(new VoteRequest(1, 2, 6, new LogId(4, 9), false, false));
        assertEquals(List.of(
            new SaveVote(new Vote(6, Vote.NO_NODE, false)),
            new RoleChanged(Role.FOLLOWER, 6, Vote.NO_NODE),
            new Send(new VoteResponse(2, 1, 6, false, false))), f.out.take());
    }

    @Test
    void refusesCandidateWithShorterLogOfSameLastTerm()
    {
        final EngineFixture f = follower(config(2), new Vote(5, Vote.NO_NODE, false), THREE, 3, 5, 5);
        f.engine.handle(new VoteRequest(1, 2, 6, new LogId(5, 3), false, false));
        assertEquals(List.of(
            new SaveVote(new Vote(6, Vote.NO_NODE, false)),
            new RoleChanged(Role.FOLLOWER, 6, Vote.NO_NODE),
            new Send(new VoteResponse(2, 1, 6, false, false))), f.out.take());
    }

    @Test
    void refusesStaleTermWithOwnTerm()
    {
        final EngineFixture f = follower(config(2), new Vote(7, Vote.NO_NODE, false), THREE, 3, 5);
        f.engine.handle(new VoteRequest(1, 2, 6, new LogId(5, 3), false, false));
        assertEquals(List.of(new Send(new VoteResponse(2, 1, 7, false, false))), f.out.take());
    }

    @Test
    void preVoteChangesNothingOnTheVoter()
    {
        final EngineFixture f = follower(config(2), new Vote(5, Vote.NO_NODE, false), THREE, 3, 5);
        f.engine.handle(new VoteRequest(1, 2, 6, new LogId(5, 3), true, false));
        assertEquals(List.of(new Send(new VoteResponse(2, 1, 6, true, true))), f.out.take());
        assertEquals(new Vote(5, Vote.NO_NODE, false), f.engine.vote());
    }

    @Test
    void followerHearingFromLeaderIgnoresVoteRequestsAndKeepsItsTerm()
    {
        final EngineFixture f = follower(config(2), new Vote(5, 3, false), THREE, 3, 5);
        f.engine.handle(new AppendEntriesRequest(3, 2, 5, new LogId(5, 3), 0, 1, List.of()));
        f.out.take();
        f.engine.tick(ELECTION_MIN / 2);
        f.engine.handle(new VoteRequest(1, 2, 9, new LogId(5, 3), false, false));
        assertEquals(List.of(new Send(new VoteResponse(2, 1, 5, false, false))), f.out.take());
        assertEquals(5, f.engine.currentTerm());
    }

    @Test
    void leaderTransferElectionIsGrantedDespiteTheLease()
    {
        final EngineFixture f = follower(config(2), new Vote(5, 3, false), THREE, 3, 5);
        f.engine.handle(new AppendEntriesRequest(3, 2, 5, new LogId(5, 3), 0, 1, List.of()));
        f.out.take();
        f.engine.handle(new VoteRequest(1, 2, 6, new LogId(5, 3), false, true));
        final List<Object> cmds = f.out.take();
        assertEquals(new Send(new VoteResponse(2, 1, 6, true, false)), cmds.get(cmds.size() - 1));
    }

    @Test
    void timeoutNowFromLeaderStartsTransferElectionAtOnce()
    {
        final EngineFixture f = follower(config(2), new Vote(5, 3, false), THREE, 3, 5);
        f.engine.handle(new AppendEntriesRequest(3, 2, 5, new LogId(5, 3), 0, 1, List.of()));
        f.out.take();
        f.engine.handle(new TimeoutNow(3, 2, 5));
        assertEquals(Role.CANDIDATE, f.engine.role());
        final List<Object> cmds = f.out.take();
        assertEquals(new SaveVote(new Vote(6, 2, false)), cmds.get(0));
        assertEquals(new Send(new VoteRequest(2, 1, 6, new LogId(5, 3), false, true)), cmds.get(2));
    }

    @Test
    void majorityOfVotesMakesLeaderWhichAppendsBlankEntryAndProbes()
    {
        final EngineFixture f = follower(config(1).preVote(false), new Vote(5, Vote.NO_NODE, false), THREE, 3, 5);
        f.engine.tick(ELECTION_MAX);
        f.out.take();
        f.engine.handle(new VoteResponse(2, 1, 6, true, false));
        assertEquals(Role.LEADER, f.engine.role());
        assertEquals(List.of(
            new SaveVote(new Vote(6, 1, true)),
            new RoleChanged(Role.LEADER, 6, 1),
            new Append(List.of(Entry.blank(6, 4))),
            new Replicate(2, 6, new LogId(5, 3), 4, 5, 0, 0),
            new Replicate(3, 6, new LogId(5, 3), 4, 5, 0, 0)), f.out.take());
    }

    @Test
    void higherTermInVoteResponseTurnsCandidateIntoFollower()
    {
        final EngineFixture f = follower(config(1).preVote(false), new Vote(5, Vote.NO_NODE, false), THREE, 3, 5);
        f.engine.tick(ELECTION_MAX);
        f.out.take();
        f.engine.handle(new VoteResponse(2, 1, 8, false, false));
        assertEquals(Role.FOLLOWER, f.engine.role());
        assertEquals(List.of(new SaveVote(new Vote(8, Vote.NO_NODE, false)), new RoleChanged(Role.FOLLOWER, 8, Vote.NO_NODE)), f.out.take());
    }

    @Test
    void learnerNeverStands()
    {
        final Membership withLearner = Membership.of(1, 2, 3).withLearner(4, null);
        final EngineFixture f = follower(config(4), Vote.INITIAL, withLearner);
        assertEquals(Role.LEARNER, f.engine.role());
        f.engine.tick(10 * ELECTION_MAX);
        f.engine.triggerElection();
        assertEquals(List.of(), f.out.take());
        assertEquals(Long.MAX_VALUE, f.engine.nextDeadlineNanos());
    }

    @Test
    void messagesForAnotherNodeAreDropped()
    {
        final EngineFixture f = follower(config(2), Vote.INITIAL, THREE);
        f.engine.handle(new VoteRequest(1, 3, 1, LogId.ZERO, false, false));
        assertEquals(List.of(new RecordingOutput.Dropped(InputDropReason.NOT_ADDRESSED)), f.out.take());
        assertEquals(Vote.INITIAL, f.engine.vote());
    }

    @Test
    void higherTermWithoutAGrantedVoteDoesNotRestartTheElectionTimer()
    {
        // Raft §5.2: the timer restarts on granting a vote or hearing from the leader, not on a
        // term alone; else a candidate that cannot win keeps the up-to-date nodes from standing.
        final EngineFixture f = follower(config(2), new Vote(5, Vote.NO_NODE, false), THREE, 3, 5, 5);
        final long deadline = f.engine.nextDeadlineNanos();
        f.engine.tick(deadline - 1);
        f.engine.handle(new VoteRequest(1, 2, 6, new LogId(3, 2), false, false));
        assertEquals(6, f.engine.currentTerm());
        assertEquals(deadline, f.engine.nextDeadlineNanos(), "refused: the timer runs on");
        f.engine.tick(deadline);
        assertEquals(Role.PRE_CANDIDATE, f.engine.role());
    }

    @Test
    void nodeRemovedByAnUncommittedConfigurationStillStandsUntilItCommits()
    {
        // Raft §6: a node takes part until the configuration that removes it is committed.
        final Membership joint = Membership.of(new long[]{1, 2, 3}, new long[]{2}, new long[0], java.util.Map.of());
        final io.ringraft.storage.InMemoryLogStorage storage = new io.ringraft.storage.InMemoryLogStorage();
        storage.saveVote(new Vote(5, Vote.NO_NODE, false));
        storage.append(Entry.membership(0, 1, joint));
        storage.append(Entry.membership(5, 2, Membership.of(2)));
        final RecordingOutput out = new RecordingOutput();
        final Engine engine = new Engine(config(1), InitialState.load(storage, null, new LogId(0, 1)), new java.util.SplittableRandom(3), out);
        engine.start(0);
        assertEquals(Role.FOLLOWER, engine.role(), "the joint configuration it votes in is the last committed one");
        assertTrue(engine.nextDeadlineNanos() < Long.MAX_VALUE);
        engine.triggerElection();
        assertEquals(Role.CANDIDATE, engine.role());
        engine.handle(new VoteResponse(2, 1, 6, true, false));
        assertEquals(Role.LEADER, engine.role(), "node 2 alone is a quorum of the latest configuration");
    }

    @Test
    void electionsThatEndWithoutALeaderDoubleTheNextTimeoutUpToTheLimitAndALeaderResetsIt()
    {
        final EngineFixture f = follower(config(1).electionBackoffLimit(2), new Vote(5, Vote.NO_NODE, false), THREE, 3, 5);
        f.engine.tick(ELECTION_MAX);
        assertEquals(Role.PRE_CANDIDATE, f.engine.role());
        long previous = f.engine.nowNanos;
        final long[] lowest = {ELECTION_MIN, 2 * ELECTION_MIN, 4 * ELECTION_MIN, 4 * ELECTION_MIN};
        final long[] highest = {ELECTION_MAX, 2 * ELECTION_MAX, 4 * ELECTION_MAX, 4 * ELECTION_MAX};
        for (int attempt = 0; attempt < lowest.length; attempt++)
        {
            final long wait = f.engine.electionDeadlineNanos - previous;
            assertTrue(wait >= lowest[attempt] && wait <= highest[attempt], "attempt " + attempt + " waits " + wait / MS + " ms");
            previous = f.engine.electionDeadlineNanos;
            f.engine.tick(previous);
            assertEquals(Role.PRE_CANDIDATE, f.engine.role(), "nobody answers: still asking");
        }
        f.engine.handle(new AppendEntriesRequest(3, 1, 5, new LogId(5, 3), 0, 1, List.of()));
        final long wait = f.engine.electionDeadlineNanos - f.engine.nowNanos;
        assertTrue(wait >= ELECTION_MIN && wait <= ELECTION_MAX, "a leader heard: back to the configured bounds, " + wait / MS + " ms");
    }

    @Test
    void aFollowerWhoseLeaderIsHeardInLongGapsWaitsLongerBeforeStandingAndStaysStickyLonger()
    {
        final EngineFixture f = follower(config(2), new Vote(5, 3, false), THREE, 3, 5);
        f.engine.handle(new AppendEntriesRequest(3, 2, 5, new LogId(5, 3), 0, 1, List.of()));
        final long gap = 200 * MS;
        f.engine.tick(f.engine.nowNanos + gap);
        f.engine.handle(new AppendEntriesRequest(3, 2, 5, new LogId(5, 3), 0, 1, List.of()));
        final long patience = gap - HEARTBEAT;
        final long wait = f.engine.electionDeadlineNanos - f.engine.nowNanos;
        assertTrue(wait >= ELECTION_MIN + 2 * patience && wait <= ELECTION_MAX + 2 * patience, "waits " + wait / MS + " ms");
        f.out.take();
        // beyond the configured stickiness, within the one the slow link asked for: the vote is refused
        f.engine.tick(f.engine.nowNanos + ELECTION_MIN + patience);
        f.engine.handle(new VoteRequest(1, 2, 6, new LogId(5, 3), false, false));
        assertEquals(List.of(new Send(new VoteResponse(2, 1, 5, false, false))), f.out.take());
    }

    @Test
    void halfwayToItsTimeoutACandidateAsksOnceMoreTheVotersThatHaveNotAnswered()
    {
        final EngineFixture f = follower(config(1), new Vote(5, Vote.NO_NODE, false), Membership.of(1, 2, 3, 4, 5), 3, 5);
        f.engine.tick(ELECTION_MAX);
        assertEquals(Role.PRE_CANDIDATE, f.engine.role());
        f.out.take();
        f.engine.handle(new VoteResponse(2, 1, 5, false, true));
        final long halfway = f.engine.nowNanos + (f.engine.electionDeadlineNanos - f.engine.nowNanos) / 2;
        f.engine.tick(halfway - 1);
        assertEquals(List.of(), f.out.take());
        f.engine.tick(halfway);
        final LogId last = new LogId(5, 3);
        assertEquals(List.of(
            new Send(new VoteRequest(1, 3, 6, last, true, false)),
            new Send(new VoteRequest(1, 4, 6, last, true, false)),
            new Send(new VoteRequest(1, 5, 6, last, true, false))), f.out.take(), "node 2 refused: only the silent ones are asked again");
        f.engine.handle(new VoteResponse(3, 1, 6, true, true));
        f.engine.handle(new VoteResponse(4, 1, 6, true, true));
        assertEquals(Role.CANDIDATE, f.engine.role());
        f.out.take();
        f.engine.handle(new VoteResponse(5, 1, 6, false, false));
        f.engine.tick(f.engine.nowNanos + (f.engine.electionDeadlineNanos - f.engine.nowNanos) / 2);
        assertEquals(List.of(
            new Send(new VoteRequest(1, 2, 6, last, false, false)),
            new Send(new VoteRequest(1, 3, 6, last, false, false)),
            new Send(new VoteRequest(1, 4, 6, last, false, false))), f.out.take(), "the vote round asks again all but node 5");
        f.engine.tick(f.engine.electionDeadlineNanos - 1);
        assertEquals(List.of(), f.out.take(), "once");
    }
}

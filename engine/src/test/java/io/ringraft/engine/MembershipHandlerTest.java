package io.ringraft.engine;

import io.ringraft.AdminStatus;
import io.ringraft.Entry;
import io.ringraft.Membership;
import io.ringraft.Vote;
import io.ringraft.engine.RecordingOutput.AdminResult;
import io.ringraft.engine.RecordingOutput.Append;
import io.ringraft.network.AppendEntriesResponse;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Map;

import static io.ringraft.engine.EngineFixture.MS;
import static io.ringraft.engine.EngineFixture.config;
import static io.ringraft.engine.EngineFixture.follower;
import static io.ringraft.engine.EngineFixture.leader;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Membership changes by joint consensus (Raft §6) and learners (thesis §4.2.1). */
class MembershipHandlerTest
{
    private static final long TIMEOUT = 1000 * MS;

    private static AppendEntriesResponse ack(final long from, final long term, final long match)
    {
        return new AppendEntriesResponse(from, 1, term, true, match, 0, 0, 0);
    }

    private static List<Membership> appendedMemberships(final RecordingOutput out)
    {
        return out.take(Append.class).stream().flatMap(a -> a.entries().stream())
            .filter(e -> e.type() == io.ringraft.EntryType.MEMBERSHIP).map(Entry::membership).toList();
    }

    /** A leader of {1,2,3} with learner 4 known; everyone acknowledged the blank entry at index 2. */
    private static EngineFixture leaderWithLearner()
    {
        final EngineFixture f = leader(config(1), 2, Membership.of(1, 2, 3).withLearner(4, "h4:1"));
        for (long n = 2; n <= 4; n++)
        {
            f.engine.handle(ack(n, 2, 2));
        }
        f.engine.onLogFlushed(f.engine.lastLogId().index());
        f.out.take();
        return f;
    }

    @Test
    void addsLearnerWhichReplicatesButDoesNotCount()
    {
        final EngineFixture f = leader(config(1), 2, Membership.of(1, 2, 3));
        f.engine.handle(ack(2, 2, 2));
        f.out.take();
        f.engine.addLearner(7, 4, "h4:1", TIMEOUT);
        assertEquals(List.of(Membership.of(1, 2, 3).withLearner(4, "h4:1")), appendedMemberships(f.out));
        f.engine.onLogFlushed(f.engine.lastLogId().index());
        f.engine.handle(ack(4, 2, 3));
        assertEquals(2, f.engine.committedIndex(), "a learner's copy does not count");
        f.engine.handle(ack(2, 2, 3));
        assertEquals(List.of(new AdminResult(7, AdminStatus.OK, 3, Vote.NO_NODE)), f.out.take(AdminResult.class));
    }

    @Test
    void removesALearnerInOneStepAndRefusesToRemoveAVoterThatWay()
    {
        final EngineFixture f = leaderWithLearner();
        f.engine.removeLearner(9, 2, TIMEOUT);
        assertEquals(List.of(new AdminResult(9, AdminStatus.INVALID, 0, Vote.NO_NODE)), f.out.take(AdminResult.class), "2 is a voter");
        f.engine.removeLearner(10, 4, TIMEOUT);
        assertEquals(List.of(Membership.of(1, 2, 3)), appendedMemberships(f.out), "learner 4 and its endpoint gone, one entry");
        f.engine.onLogFlushed(f.engine.lastLogId().index());
        f.engine.handle(ack(2, 2, 3));
        assertEquals(List.of(new AdminResult(10, AdminStatus.OK, 3, Vote.NO_NODE)), f.out.take(AdminResult.class));
    }

    @Test
    void aLearnerWithAnEndpointAnotherMemberUsesIsRefused()
    {
        final EngineFixture f = leaderWithLearner();
        f.engine.addLearner(11, 5, "h5:1 h4:1", TIMEOUT);
        assertEquals(List.of(new AdminResult(11, AdminStatus.INVALID, 0, Vote.NO_NODE)), f.out.take(AdminResult.class));
        assertEquals(List.of(), appendedMemberships(f.out), "nothing changed");
    }

    @Test
    void aRemovedNodeThatStaysSilentForAnElectionTimeoutIsNoLongerReplicatedTo()
    {
        final EngineFixture f = leaderWithLearner();
        f.engine.removeLearner(12, 4, TIMEOUT);
        f.engine.onLogFlushed(f.engine.lastLogId().index());
        f.engine.handle(ack(2, 2, 3));
        assertTrue(f.engine.replicatesTo(4), "until it learns of its removal, or stays silent");
        final long lastHeard = EngineFixture.ELECTION_MAX; // the fixture's leader heard from everyone then
        f.engine.tick(lastHeard + EngineFixture.ELECTION_MAX / 2);
        f.engine.handle(ack(2, 2, 3));
        f.engine.handle(ack(3, 2, 3));
        assertTrue(f.engine.replicatesTo(4), "silent for less than an election timeout");
        f.engine.tick(lastHeard + EngineFixture.ELECTION_MAX + EngineFixture.HEARTBEAT * 2);
        f.engine.handle(ack(2, 2, 3));
        f.engine.handle(ack(3, 2, 3));
        assertFalse(f.engine.replicatesTo(4), "silent for an election timeout");
        assertTrue(f.engine.replicatesTo(2) && f.engine.replicatesTo(3), "the members stay");
    }

    @Test
    void changeWaitsForNewVotersToCatchUpThenGoesThroughJointToFinal()
    {
        final EngineFixture f = leader(config(1), 2, Membership.of(1, 2, 3).withLearner(4, "h4:1"));
        f.engine.handle(ack(2, 2, 2));
        f.engine.handle(ack(3, 2, 2));
        f.out.take();
        f.engine.changeMembership(8, new long[]{1, 2, 4}, false, TIMEOUT);
        assertEquals(List.of(), appendedMemberships(f.out), "node 4 has not caught up yet");
        f.engine.handle(ack(4, 2, 2));
        final Membership joint = Membership.of(new long[]{1, 2, 3}, new long[]{1, 2, 4}, new long[0], Map.of(4L, "h4:1"));
        assertEquals(List.of(joint), appendedMemberships(f.out));
        assertTrue(f.engine.membership().isJoint(), "a configuration takes effect when appended");
        f.engine.onLogFlushed(f.engine.lastLogId().index());
        f.engine.handle(ack(3, 2, 3));
        assertEquals(2, f.engine.committedIndex(), "joint: {1,3} is a majority of the old voters but not of the new");
        f.engine.handle(ack(4, 2, 3));
        assertEquals(3, f.engine.committedIndex(), "{1,3,4}: a majority of both");
        final Membership fin = Membership.of(new long[]{1, 2, 4}, new long[0], new long[0], Map.of(4L, "h4:1"));
        assertEquals(List.of(fin), appendedMemberships(f.out));
        f.engine.onLogFlushed(f.engine.lastLogId().index());
        f.engine.handle(ack(4, 2, 4));
        assertEquals(List.of(new AdminResult(8, AdminStatus.OK, 4, Vote.NO_NODE)), f.out.take(AdminResult.class));
        assertEquals(fin, f.engine.committedMembership());
    }

    @Test
    void removedVotersCanStayAsLearners()
    {
        final EngineFixture f = leaderWithLearner();
        f.engine.changeMembership(1, new long[]{1, 2, 4}, true, TIMEOUT);
        f.engine.onLogFlushed(f.engine.lastLogId().index());
        f.engine.handle(ack(2, 2, 3));
        f.engine.handle(ack(4, 2, 3));
        final List<Membership> appended = appendedMemberships(f.out);
        assertEquals(2, appended.size());
        assertTrue(appended.get(1).isLearner(3));
        assertFalse(appended.get(1).isVoter(3));
    }

    @Test
    void secondChangeWhileOneIsInFlightIsRefused()
    {
        final EngineFixture f = leaderWithLearner();
        f.engine.changeMembership(1, new long[]{1, 2, 4}, false, TIMEOUT);
        f.engine.changeMembership(2, new long[]{1, 2}, false, TIMEOUT);
        assertEquals(List.of(new AdminResult(2, AdminStatus.IN_PROGRESS, 0, Vote.NO_NODE)), f.out.take(AdminResult.class));
    }

    @Test
    void votersMustBeMembersFirst()
    {
        final EngineFixture f = leaderWithLearner();
        f.engine.changeMembership(1, new long[]{1, 2, 9}, false, TIMEOUT);
        assertEquals(List.of(new AdminResult(1, AdminStatus.INVALID, 0, Vote.NO_NODE)), f.out.take(AdminResult.class));
        assertTrue(f.out.adminMessages.get(0).contains("add it as a learner first"), f.out.adminMessages.get(0));
    }

    @Test
    void changeWhoseNewVotersNeverCatchUpTimesOutWithNothingChanged()
    {
        final EngineFixture f = leader(config(1), 2, Membership.of(1, 2, 3).withLearner(4, "h4:1"));
        f.engine.handle(ack(2, 2, 2));
        f.out.take();
        f.engine.changeMembership(5, new long[]{1, 2, 4}, false, TIMEOUT);
        f.engine.tick(f.engine.nowNanos + TIMEOUT);
        assertEquals(List.of(new AdminResult(5, AdminStatus.TIMED_OUT, 0, Vote.NO_NODE)), f.out.take(AdminResult.class));
        assertEquals(Membership.of(1, 2, 3).withLearner(4, "h4:1"), f.engine.membership());
    }

    @Test
    void followerRefusesChangesNamingTheLeader()
    {
        final EngineFixture f = follower(config(2), new Vote(2, 1, false), Membership.of(1, 2, 3));
        f.engine.handle(new io.ringraft.network.AppendEntriesRequest(1, 2, 2, new io.ringraft.LogId(0, 1), 0, 0, List.of()));
        f.out.take();
        f.engine.changeMembership(3, new long[]{1, 2}, false, TIMEOUT);
        assertEquals(List.of(new AdminResult(3, AdminStatus.NOT_LEADER, 0, 1)), f.out.take(AdminResult.class));
    }

    @Test
    void removedLeaderStepsDownOnceTheFinalConfigurationCommits()
    {
        final EngineFixture f = leaderWithLearner();
        f.engine.changeMembership(1, new long[]{2, 3, 4}, false, TIMEOUT);
        f.engine.onLogFlushed(f.engine.lastLogId().index());
        for (long n = 2; n <= 4; n++)
        {
            f.engine.handle(ack(n, 2, 3));
        }
        assertEquals(Role.LEADER, f.engine.role(), "it leads through the joint phase");
        f.engine.onLogFlushed(f.engine.lastLogId().index());
        f.engine.handle(ack(2, 2, 4));
        f.engine.handle(ack(3, 2, 4));
        assertEquals(4, f.engine.committedIndex(), "the final configuration commits with the new voters alone");
        assertEquals(List.of(new AdminResult(1, AdminStatus.OK, 4, Vote.NO_NODE)), f.out.take(AdminResult.class));
        assertEquals(Role.LEARNER, f.engine.role(), "no longer a voter: never stands again");
    }

    @Test
    void newLeaderFinishesAnInheritedCommittedJointConfiguration()
    {
        final Membership joint = Membership.of(new long[]{1, 2, 3}, new long[]{1, 2, 4}, new long[0], Map.of());
        final EngineFixture f = leader(config(1), 3, joint);
        f.engine.handle(ack(2, 3, 2));
        f.engine.handle(ack(4, 3, 2));
        assertEquals(List.of(Membership.of(1, 2, 4)), appendedMemberships(f.out));
    }

    @Test
    void requestOnANewLeaderWaitsForTheInheritedMembershipEntryToCommit()
    {
        final EngineFixture f = leader(config(1), 2, Membership.of(1, 2, 3));
        f.engine.addLearner(6, 4, null, TIMEOUT);
        assertEquals(List.of(), appendedMemberships(f.out), "the entry at index 1 is not committed yet");
        f.engine.handle(ack(2, 2, 2));
        assertEquals(List.of(Membership.of(1, 2, 3).withLearner(4, null)), appendedMemberships(f.out));
        f.engine.onLogFlushed(f.engine.lastLogId().index());
        f.engine.handle(ack(2, 2, 3));
        assertEquals(List.of(new AdminResult(6, AdminStatus.OK, 3, Vote.NO_NODE)), f.out.take(AdminResult.class));
    }

    @Test
    void learnerAddedToAnIdleClusterIsProbedFromItsMembershipEntry()
    {
        final EngineFixture f = leader(config(1), 2, Membership.of(1, 2, 3));
        f.engine.handle(ack(2, 2, 2));
        f.engine.onLogFlushed(f.engine.lastLogId().index());
        f.out.take();
        f.engine.addLearner(1, 4, null, TIMEOUT);
        final List<RecordingOutput.Replicate> toLearner = f.out.take(RecordingOutput.Replicate.class).stream()
            .filter(r -> r.peer() == 4).toList();
        assertEquals(List.of(new RecordingOutput.Replicate(4, 2, new io.ringraft.LogId(2, 2), 3, 4, 2, 0)), toLearner);
        f.engine.handle(new AppendEntriesResponse(4, 1, 2, false, 2, 0, 1, 0));
        final List<RecordingOutput.Replicate> fromStart = f.out.take(RecordingOutput.Replicate.class).stream()
            .filter(r -> r.peer() == 4).toList();
        assertEquals(1, fromStart.get(0).fromIndex(), "the empty learner gets the whole log");
    }
}

package io.ringraft.engine;

import io.ringraft.Entry;
import io.ringraft.Membership;
import io.ringraft.Vote;

import java.util.List;
import java.util.function.LongUnaryOperator;

/**
 * What a leader does besides replicating: take client writes, commit by the rule of Raft §5.4.2
 * (only entries of its own term are committed by counting replicas), send heartbeats, and step
 * down when it cannot hear from a quorum (check-quorum) or when a committed membership no longer
 * counts it as a voter (Raft §6).
 */
final class LeaderHandler
{
    // One function object, not a capturing lambda per acknowledgement.
    private final LongUnaryOperator durableOn;

    private final Engine engine;

    private long heartbeatDeadlineNanos;
    private long checkQuorumDeadlineNanos;
    private long checkQuorumSinceNanos;
    /** The first index of this leader's term: the blank entry. */
    private long termStartIndex;
    /** The broadcast round: each heartbeat or ReadIndex broadcast opens a new one. */
    long seq;

    LeaderHandler(final Engine engine)
    {
        this.engine = engine;
        this.durableOn = node -> node == engine.self ? engine.flushedIndex : engine.replicationHandler.matchIndex(node);
    }

    /** Won the election (§5.2): take over, append the blank entry (§8), replicate. */
    void becomeLeader()
    {
        final Vote vote = engine.vote;
        engine.saveVote(new Vote(vote.term(), engine.self, true));
        engine.role = Role.LEADER;
        engine.leaderId = engine.self;
        engine.readHandler.onLeaderChanged();
        engine.electionDeadlineNanos = Long.MAX_VALUE;
        engine.failedElections = 0;
        seq = 0;
        engine.readHandler.onRoundStart(0);
        final long now = engine.nowNanos;
        heartbeatDeadlineNanos = now + engine.config.heartbeatIntervalNanos();
        checkQuorumSinceNanos = now;
        checkQuorumDeadlineNanos = now + engine.electionTimeoutMinNanos();
        engine.replicationHandler.resetAll();
        engine.output.roleChanged(Role.LEADER, vote.term(), engine.self);
        termStartIndex = engine.log.lastIndex() + 1;
        engine.appendEntries(List.of(Entry.blank(vote.term(), termStartIndex)));
        engine.replicationHandler.replicateAll();
        advanceCommit();
    }

    long termStartIndex()
    {
        return termStartIndex;
    }

    long clientWrite(final int count)
    {
        if (engine.role != Role.LEADER)
        {
            return Engine.NOT_LEADER;
        }
        if (engine.transferHandler.transferring())
        {
            return Engine.TRANSFERRING;
        }
        final long term = engine.vote.term();
        final long first = engine.log.lastIndex() + 1;
        engine.output.appendClientEntries(term, first, count);
        engine.log.append(term, count);
        engine.replicationHandler.replicateAll();
        return first;
    }

    /** Appends a membership entry of this term and replicates it. */
    long appendMembership(final Membership membership)
    {
        final long index = engine.log.lastIndex() + 1;
        engine.appendEntries(List.of(Entry.membership(engine.vote.term(), index, membership)));
        engine.replicationHandler.replicateAll();
        return index;
    }

    void onTick()
    {
        final long now = engine.nowNanos;
        if (engine.config.checkQuorum() && now >= checkQuorumDeadlineNanos)
        {
            if (!engine.replicationHandler.quorumAckedSince(checkQuorumSinceNanos))
            {
                engine.becomeFollower(engine.vote.term(), Vote.NO_NODE);
                return;
            }
            checkQuorumSinceNanos = now;
            checkQuorumDeadlineNanos = now + engine.electionTimeoutMinNanos();
        }
        if (now >= heartbeatDeadlineNanos && heartbeatsEnabled())
        {
            broadcastHeartbeat();
        }
        engine.membershipHandler.check();
        engine.transferHandler.check();
    }

    long nextDeadlineNanos()
    {
        final long heartbeat = heartbeatsEnabled() ? heartbeatDeadlineNanos : Long.MAX_VALUE;
        long deadline = engine.config.checkQuorum() ? Math.min(heartbeat, checkQuorumDeadlineNanos) : heartbeat;
        deadline = Math.min(deadline, engine.membershipHandler.deadlineNanos());
        return Math.min(deadline, engine.transferHandler.deadlineNanos());
    }

    private boolean heartbeatsEnabled()
    {
        final TestControl control = engine.config.testControl();
        return control == null || control.heartbeats();
    }

    void broadcastHeartbeat()
    {
        heartbeatDeadlineNanos = engine.nowNanos + engine.config.heartbeatIntervalNanos();
        seq++;
        engine.readHandler.onRoundStart(seq);
        engine.replicationHandler.heartbeatAll();
        engine.transferHandler.onHeartbeat();
    }

    /** Commits the highest index a quorum holds durably, if it is of this term (§5.4.2). */
    void advanceCommit()
    {
        if (engine.role != Role.LEADER)
        {
            return;
        }
        final Membership m = engine.memberships.effective();
        final long quorumIndex = engine.bug == PlantedBug.COMMIT_WITHOUT_QUORUM ? engine.flushedIndex : m.quorumIndex(durableOn);
        if (quorumIndex > engine.committedIndex &&
            (engine.log.termAt(quorumIndex) == engine.vote.term() || engine.bug == PlantedBug.COMMIT_OLD_TERM_BY_COUNTING))
        {
            engine.commitTo(quorumIndex);
            engine.replicationHandler.onCommit();
            engine.membershipHandler.check();
            final Membership committed = engine.memberships.at(engine.committedIndex);
            if (engine.role == Role.LEADER && committed == m && !m.isVoter(engine.self))
            {
                // Removed by a committed change (Raft §6): hand over by stepping down.
                engine.becomeFollower(engine.vote.term(), Vote.NO_NODE);
            }
        }
    }

    void onStepDown()
    {
        engine.role = Role.FOLLOWER;
        engine.readHandler.onStepDown();
        engine.membershipHandler.onStepDown();
        engine.transferHandler.onStepDown();
        engine.replicationHandler.clear();
    }

    void onMembershipChanged()
    {
        engine.replicationHandler.onMembershipChanged();
        advanceCommit();
    }
}

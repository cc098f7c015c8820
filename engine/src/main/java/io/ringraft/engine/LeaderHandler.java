package io.ringraft.engine;

import io.ringraft.Entry;
import io.ringraft.Membership;
import io.ringraft.Vote;
import org.agrona.collections.LongArrayQueue;

import java.util.List;

/**
 * What a leader does besides replicating: take client writes, commit by the rule of Raft §5.4.2
 * (only entries of its own term are committed by counting replicas), send heartbeats, step down
 * when it cannot hear from a quorum (check-quorum), and confirm ReadIndex reads.
 */
final class LeaderHandler
{
    private final Engine engine;
    private final LongArrayQueue readIds = new LongArrayQueue(64, Long.MIN_VALUE);
    private final LongArrayQueue readIndexes = new LongArrayQueue(64, Long.MIN_VALUE);
    private final LongArrayQueue readSeqs = new LongArrayQueue(64, Long.MIN_VALUE);

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
    }

    /** Won the election (§5.2): take over, append the blank entry (§8), replicate. */
    void becomeLeader()
    {
        final Vote vote = engine.vote;
        engine.saveVote(new Vote(vote.term(), engine.self, true));
        engine.role = Role.LEADER;
        engine.leaderId = engine.self;
        engine.electionDeadlineNanos = Long.MAX_VALUE;
        seq = 0;
        final long now = engine.nowNanos;
        heartbeatDeadlineNanos = now + engine.config.heartbeatIntervalNanos();
        checkQuorumSinceNanos = now;
        checkQuorumDeadlineNanos = now + engine.config.electionTimeoutMinNanos();
        engine.replicationHandler.resetAll();
        engine.output.roleChanged(Role.LEADER, vote.term(), engine.self);
        termStartIndex = engine.log.lastIndex() + 1;
        engine.appendEntries(List.of(Entry.blank(vote.term(), termStartIndex)));
        engine.replicationHandler.replicateAll();
        advanceCommit();
    }

    long clientWrite(final int count)
    {
        if (engine.role != Role.LEADER)
        {
            return Engine.NOT_LEADER;
        }
        final long term = engine.vote.term();
        final long first = engine.log.lastIndex() + 1;
        engine.output.appendClientEntries(term, first, count);
        engine.log.append(term, count);
        engine.replicationHandler.replicateAll();
        return first;
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
            checkQuorumDeadlineNanos = now + engine.config.electionTimeoutMinNanos();
        }
        if (now >= heartbeatDeadlineNanos)
        {
            broadcastHeartbeat();
        }
    }

    long nextDeadlineNanos()
    {
        return engine.config.checkQuorum() ? Math.min(heartbeatDeadlineNanos, checkQuorumDeadlineNanos) : heartbeatDeadlineNanos;
    }

    void broadcastHeartbeat()
    {
        heartbeatDeadlineNanos = engine.nowNanos + engine.config.heartbeatIntervalNanos();
        seq++;
        engine.replicationHandler.heartbeatAll();
    }

    /** Commits the highest index a quorum holds durably, if it is of this term (§5.4.2). */
    void advanceCommit()
    {
        if (engine.role != Role.LEADER)
        {
            return;
        }
        final Membership m = engine.memberships.effective();
        final long quorumIndex = m.quorumIndex(node -> node == engine.self ? engine.flushedIndex : engine.replicationHandler.matchIndex(node));
        if (quorumIndex > engine.committedIndex &&
            (engine.log.termAt(quorumIndex) == engine.vote.term() || engine.bug == PlantedBug.COMMIT_OLD_TERM_BY_COUNTING))
        {
            engine.commitTo(quorumIndex);
        }
    }

    void readIndex(final long readId)
    {
        if (engine.role != Role.LEADER)
        {
            engine.output.readIndexFailed(readId, engine.leaderId);
            return;
        }
        // The read must see every entry committed before it: the commit index, but no less than
        // this term's first entry, since until that commits the leader's commit index may lag.
        final long index = Math.max(engine.committedIndex, termStartIndex);
        if (engine.memberships.effective().isQuorum(node -> node == engine.self))
        {
            engine.output.readIndexReady(readId, index);
            return;
        }
        broadcastHeartbeat();
        readIds.addLong(readId);
        readIndexes.addLong(index);
        readSeqs.addLong(seq);
    }

    /** A follower acknowledged broadcast round {@code ackedSeq}: confirm the reads it completes. */
    void onAck()
    {
        while (!readSeqs.isEmpty() && engine.replicationHandler.quorumAckedSeq(readSeqs.peekLong()))
        {
            readSeqs.pollLong();
            engine.output.readIndexReady(readIds.pollLong(), readIndexes.pollLong());
        }
    }

    void onStepDown()
    {
        engine.role = Role.FOLLOWER;
        while (!readIds.isEmpty())
        {
            readSeqs.pollLong();
            readIndexes.pollLong();
            engine.output.readIndexFailed(readIds.pollLong(), Vote.NO_NODE);
        }
        engine.replicationHandler.clear();
    }

    void onMembershipChanged()
    {
        engine.replicationHandler.syncPeers();
        advanceCommit();
    }
}

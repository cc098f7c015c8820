package io.ringraft.engine;

import io.ringraft.Membership;
import io.ringraft.Vote;
import io.ringraft.network.ReadIndexRequest;
import io.ringraft.network.ReadIndexResponse;
import org.agrona.collections.Long2LongHashMap;
import org.agrona.collections.LongArrayQueue;

/**
 * Linearizable reads without a log entry (Raft thesis §6.4):
 * <ul>
 * <li>ReadIndex on the leader: the read index is the commit index (no less than the first entry
 * of the leader's term); it is ready once a quorum answers a broadcast round started after the
 * request, which proves no newer leader existed when the read was taken;</li>
 * <li>follower reads: a follower asks the leader for a read index, then serves the read locally
 * once it has applied that far;</li>
 * <li>lease reads: a leader that heard from a quorum within a round started less than
 * (minimum election timeout − clock-drift bound) ago serves reads with no round trip, because no
 * voter grants another candidate a vote within a minimum election timeout of hearing from it —
 * nor within one after restarting.</li>
 * </ul>
 * A read forwarded to the leader is sent again if no answer came within the maximum election
 * timeout (the request or its answer may have been lost, e.g. while the connection to the leader
 * was being set up), and fails if the second attempt gets no answer either; it fails at once when
 * the leader this node knows changes, including when this node stands for election or wins one.
 */
final class ReadHandler
{
    private static final int ROUNDS = 64;

    private final Engine engine;
    // Leader side: reads waiting for a quorum to answer a round.
    private final LongArrayQueue readIds = new LongArrayQueue(64, Long.MIN_VALUE);
    private final LongArrayQueue readIndexes = new LongArrayQueue(64, Long.MIN_VALUE);
    private final LongArrayQueue readSeqs = new LongArrayQueue(64, Long.MIN_VALUE);
    private final LongArrayQueue requesters = new LongArrayQueue(64, Long.MIN_VALUE);
    // Follower side: reads forwarded to a leader, by read id.
    private final Long2LongHashMap forwarded = new Long2LongHashMap(Vote.NO_NODE);
    // Their deadlines, in the order sent (one timeout for all, so the deadlines ascend); a read
    // answered or failed meanwhile is skipped when its turn comes.
    private final LongArrayQueue forwardIds = new LongArrayQueue(64, Long.MIN_VALUE);
    private final LongArrayQueue forwardDeadlines = new LongArrayQueue(64, Long.MIN_VALUE);
    private final LongArrayQueue forwardAttempts = new LongArrayQueue(64, Long.MIN_VALUE);
    // When each recent broadcast round started, for the lease.
    private final long[] roundStartNanos = new long[ROUNDS];

    ReadHandler(final Engine engine)
    {
        this.engine = engine;
    }

    void readIndex(final long readId)
    {
        if (engine.role == Role.LEADER)
        {
            leaderRead(readId, engine.self);
        }
        else if (engine.leaderId != Vote.NO_NODE && engine.leaderId != engine.self)
        {
            forward(readId, 1);
        }
        else
        {
            engine.output.readIndexFailed(readId, Vote.NO_NODE);
        }
    }

    private void forward(final long readId, final long attempt)
    {
        forwarded.put(readId, engine.leaderId);
        forwardIds.addLong(readId);
        forwardDeadlines.addLong(engine.nowNanos + engine.config.electionTimeoutMaxNanos());
        forwardAttempts.addLong(attempt);
        engine.output.send(new ReadIndexRequest(engine.self, engine.leaderId, engine.vote.term(), readId));
    }

    /** Time passed: a forwarded read unanswered for an election timeout is sent again, then fails. */
    void onTick()
    {
        while (!forwardIds.isEmpty() && forwardDeadlines.peekLong() <= engine.nowNanos)
        {
            final long readId = forwardIds.pollLong();
            forwardDeadlines.pollLong();
            final long attempt = forwardAttempts.pollLong();
            final long leader = forwarded.get(readId);
            if (leader == Vote.NO_NODE)
            {
                continue; // answered or failed already
            }
            if (attempt < 2 && leader == engine.leaderId)
            {
                forward(readId, attempt + 1);
            }
            else
            {
                forwarded.remove(readId);
                engine.output.readIndexFailed(readId, engine.leaderId);
            }
        }
        if (forwarded.isEmpty())
        {
            forwardIds.clear();
            forwardDeadlines.clear();
            forwardAttempts.clear();
        }
    }

    /** @return when {@link #onTick} must run next for the forwarded reads, or {@link Long#MAX_VALUE} */
    long nextDeadlineNanos()
    {
        return forwardIds.isEmpty() ? Long.MAX_VALUE : forwardDeadlines.peekLong();
    }

    void onReadIndexRequest(final ReadIndexRequest request)
    {
        engine.stepDownIfNewerTerm(request.term(), Vote.NO_NODE);
        if (engine.role == Role.LEADER)
        {
            leaderRead(request.readId(), request.from());
        }
        else
        {
            engine.output.send(new ReadIndexResponse(engine.self, request.from(), engine.vote.term(), request.readId(), 0, false,
                engine.leaderId));
        }
    }

    void onReadIndexResponse(final ReadIndexResponse response)
    {
        final long leader = forwarded.remove(response.readId());
        if (leader == Vote.NO_NODE || leader != response.from())
        {
            return; // failed already, when the leader changed
        }
        if (response.ok())
        {
            engine.output.readIndexReady(response.readId(), response.readIndex());
        }
        else
        {
            engine.output.readIndexFailed(response.readId(), response.leaderId());
        }
    }

    private void leaderRead(final long readId, final long requester)
    {
        final long index = Math.max(engine.committedIndex, engine.leaderHandler.termStartIndex());
        if (engine.memberships.effective().isQuorum(node -> node == engine.self))
        {
            ready(readId, requester, index);
            return;
        }
        engine.leaderHandler.broadcastHeartbeat();
        readIds.addLong(readId);
        readIndexes.addLong(index);
        readSeqs.addLong(engine.leaderHandler.seq);
        requesters.addLong(requester);
    }

    private void ready(final long readId, final long requester, final long index)
    {
        if (requester == engine.self)
        {
            engine.output.readIndexReady(readId, index);
        }
        else
        {
            engine.output.send(new ReadIndexResponse(engine.self, requester, engine.vote.term(), readId, index, true, engine.self));
        }
    }

    /** A follower answered: confirm the reads whose round a quorum has now answered. */
    void onAck()
    {
        while (!readSeqs.isEmpty() && engine.replicationHandler.quorumAckedSeq(readSeqs.peekLong()))
        {
            readSeqs.pollLong();
            ready(readIds.pollLong(), requesters.pollLong(), readIndexes.pollLong());
        }
    }

    /** A broadcast round {@code seq} starts now. */
    void onRoundStart(final long seq)
    {
        roundStartNanos[(int)(seq % ROUNDS)] = engine.nowNanos;
    }

    /**
     * @return the index a lease read must observe, or -1 if the lease does not hold now (then use
     *         {@link #readIndex})
     */
    long leaseRead()
    {
        // Without check-quorum, voters do not honour leases (they vote whenever asked), so none holds.
        if (!engine.config.checkQuorum() || engine.role != Role.LEADER || engine.transferHandler.transferring() ||
            engine.committedIndex < engine.leaderHandler.termStartIndex())
        {
            return -1;
        }
        final long seq = engine.leaderHandler.seq;
        final Membership m = engine.memberships.effective();
        final long leaseStart = m.quorumIndex(node ->
        {
            if (node == engine.self)
            {
                return engine.nowNanos;
            }
            final long acked = engine.replicationHandler.ackedSeq(node);
            return acked < 0 || seq - acked >= ROUNDS ? Long.MIN_VALUE : roundStartNanos[(int)(acked % ROUNDS)];
        });
        if (leaseStart == Long.MIN_VALUE)
        {
            return -1;
        }
        final long leaseEnd = leaseStart + engine.config.electionTimeoutMinNanos() - engine.config.maxClockDriftNanos();
        return engine.nowNanos < leaseEnd ? engine.committedIndex : -1;
    }

    /** Leadership ended: reads not yet confirmed fail. */
    void onStepDown()
    {
        while (!readIds.isEmpty())
        {
            readSeqs.pollLong();
            readIndexes.pollLong();
            final long readId = readIds.pollLong();
            final long requester = requesters.pollLong();
            if (requester == engine.self)
            {
                engine.output.readIndexFailed(readId, Vote.NO_NODE);
            }
            else
            {
                engine.output.send(new ReadIndexResponse(engine.self, requester, engine.vote.term(), readId, 0, false, Vote.NO_NODE));
            }
        }
    }

    /**
     * The leader this node knows changed (a new one was heard of, or this node stands for election
     * or won one): reads forwarded to the old one fail.
     */
    void onLeaderChanged()
    {
        if (forwarded.isEmpty())
        {
            return;
        }
        forwardIds.clear();
        forwardDeadlines.clear();
        forwardAttempts.clear();
        final Long2LongHashMap.KeyIterator it = forwarded.keySet().iterator();
        while (it.hasNext())
        {
            final long readId = it.nextValue();
            it.remove();
            engine.output.readIndexFailed(readId, engine.leaderId);
        }
    }
}

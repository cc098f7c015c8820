package io.ringraft.engine;

import io.ringraft.EntryBatch;
import io.ringraft.Vote;
import io.ringraft.network.AppendEntriesRequest;
import io.ringraft.network.AppendEntriesResponse;
import io.ringraft.network.RaftMessage;

/**
 * AppendEntries on a follower (Raft §5.3): the consistency check on the previous entry, the
 * fast back-off hint on a mismatch, truncation of a conflicting suffix, and acknowledgements
 * that never run ahead of what is durable (an entry acknowledged and then lost in a crash could
 * make a committed entry vanish).
 */
final class FollowingHandler
{
    private final Engine engine;
    // Reused for every response: an output keeps a copy if it keeps one at all.
    private final AppendEntriesResponse response = new AppendEntriesResponse();

    // The acknowledgement owed to the leader once the log is durable far enough.
    private long pendingAckLeader = Vote.NO_NODE;
    private long pendingAckIndex;
    private long pendingAckSeq;
    private long ackedIndex;

    FollowingHandler(final Engine engine)
    {
        this.engine = engine;
    }

    void onAppendEntries(final AppendEntriesRequest request)
    {
        final EntryBatch entries = request.entries();
        final int n = entries.size();
        // First, whatever the term: a corrupted message is counted as such, not read.
        for (int i = 0; i < n; i++)
        {
            if (!entries.checksumMatches(i))
            {
                // Corrupted on the way from the leader's log: dropped before anything is durable. The
                // leader sends the entries again (the next request does not follow, or it times out).
                engine.dropInput(InputDropReason.ENTRY_CHECKSUM, request);
                return;
            }
        }
        if (request.term() < engine.vote.term())
        {
            // A stale leader: the reply's term tells it to step down (§5.1).
            respond(request, false, request.prevLogIndex(), 0, 0);
            return;
        }
        if (n > 0 && (!entries.wellFormed() || entries.index(0) != request.prevLogIndex() + 1 ||
            entries.term(0) < request.prevLogTerm() || entries.lastTerm() > request.term()) ||
            request.prevLogTerm() > request.term())
        {
            // No leader sends this: corrupt input that passed the transport's checks, or a forgery.
            engine.dropInput(InputDropReason.ENTRIES_MALFORMED, request);
            return;
        }
        if (!acceptLeader(request))
        {
            return;
        }

        final long prevIndex = request.prevLogIndex();
        final LogIdList log = engine.log;
        if (prevIndex > log.lastIndex())
        {
            respond(request, false, prevIndex, 0, log.lastIndex() + 1);
            return;
        }
        if (prevIndex >= log.purgedIndex())
        {
            final long localTerm = log.termAt(prevIndex);
            if (localTerm != request.prevLogTerm())
            {
                final long first = log.firstIndexOf(localTerm);
                respond(request, false, prevIndex, localTerm, Math.max(first, engine.committedIndex + 1));
                return;
            }
        }
        // Entries at or below the purged point are covered by a snapshot, hence committed and identical.
        for (int i = 0; i < n; i++)
        {
            final long index = prevIndex + 1 + i;
            if (index <= log.purgedIndex() || index <= log.lastIndex() && log.termAt(index) == entries.term(i))
            {
                continue;
            }
            final boolean conflict = index <= log.lastIndex();
            if (conflict && index <= engine.committedIndex)
            {
                // A leader holds every committed entry (§5.4): only a forgery contradicts one.
                engine.dropInput(InputDropReason.TRUNCATES_COMMITTED, request);
                return;
            }
            if (entries.term(i) < log.termAt(index - 1))
            {
                engine.dropInput(InputDropReason.ENTRIES_MALFORMED, request); // terms would go back in the log
                return;
            }
            if (conflict)
            {
                engine.truncate(index);
            }
            engine.appendEntries(entries, i);
            break;
        }
        final long matched = prevIndex + n;
        engine.commitTo(Math.min(request.leaderCommit(), matched));
        if (engine.flushedIndex >= matched || engine.bug == PlantedBug.ACK_BEFORE_DURABLE)
        {
            ack(request.from(), matched, request.seq());
        }
        else
        {
            if (pendingAckLeader != request.from())
            {
                pendingAckIndex = 0;
                pendingAckSeq = 0;
            }
            pendingAckLeader = request.from();
            pendingAckIndex = Math.max(pendingAckIndex, matched);
            pendingAckSeq = Math.max(pendingAckSeq, request.seq());
            if (engine.flushedIndex > ackedIndex)
            {
                ack(request.from(), Math.min(engine.flushedIndex, matched), request.seq());
            }
        }
    }

    /**
     * A message from the leader of its term (not older than ours): follow it and reset the
     * election timer, unless it contradicts the leader this node knows for that term.
     *
     * @return false if the message claims a second leader of a term, and was dropped
     */
    boolean acceptLeader(final RaftMessage message)
    {
        final long term = message.term();
        final long leader = message.from();
        if (term == engine.vote.term() &&
            (engine.role == Role.LEADER || engine.leaderId != Vote.NO_NODE && engine.leaderId != leader))
        {
            // One leader per term (§5.2): another that claims this one is a forgery or a bug elsewhere.
            engine.dropInput(InputDropReason.SECOND_LEADER, message);
            return false;
        }
        if (term == engine.lastLeaderTerm && engine.lastLeaderFrom == leader)
        {
            engine.observeGap(engine.nowNanos - engine.lastLeaderContactNanos);
        }
        if (term > engine.vote.term() || engine.role == Role.CANDIDATE || engine.role == Role.PRE_CANDIDATE ||
            engine.leaderId != leader)
        {
            engine.becomeFollower(term, leader);
        }
        engine.lastLeaderFrom = leader;
        engine.lastLeaderTerm = term;
        engine.lastLeaderContactNanos = engine.nowNanos;
        engine.failedElections = 0;
        engine.resetElectionTimer();
        return true;
    }

    /** The log became durable further: send what the leader is owed. */
    void onFlushed()
    {
        if (pendingAckLeader == Vote.NO_NODE || pendingAckLeader != engine.leaderId)
        {
            return;
        }
        final long durable = Math.min(engine.flushedIndex, pendingAckIndex);
        if (durable > ackedIndex)
        {
            ack(pendingAckLeader, durable, pendingAckSeq);
        }
        if (durable >= pendingAckIndex)
        {
            pendingAckLeader = Vote.NO_NODE;
            pendingAckIndex = 0;
            pendingAckSeq = 0;
        }
    }

    /** A new term: acknowledgements owed to an old leader are void. */
    void onNewTerm()
    {
        pendingAckLeader = Vote.NO_NODE;
        pendingAckIndex = 0;
        pendingAckSeq = 0;
        ackedIndex = 0;
    }

    private void ack(final long leader, final long matched, final long seq)
    {
        ackedIndex = Math.max(ackedIndex, matched);
        engine.output.send(response.set(engine.self, leader, engine.vote.term(), true, matched, 0, 0, seq));
    }

    private void respond(final AppendEntriesRequest request, final boolean success, final long rejectedPrev,
        final long conflictTerm, final long conflictIndex)
    {
        engine.output.send(response.set(engine.self, request.from(), engine.vote.term(), success, rejectedPrev,
            conflictTerm, conflictIndex, request.seq()));
    }
}

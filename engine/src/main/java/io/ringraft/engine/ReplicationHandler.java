package io.ringraft.engine;

import io.ringraft.Membership;
import io.ringraft.Vote;
import io.ringraft.network.AppendEntriesResponse;
import io.ringraft.network.Introduce;

import java.util.Arrays;

/**
 * A leader's replication to each follower (Raft §5.3): probing for the point where the logs
 * agree with the fast back-off hint, then pipelining batches within a window, retransmitting
 * when a request goes unanswered for two heartbeat intervals.
 */
final class ReplicationHandler
{
    private final Engine engine;
    private Progress[] peers = new Progress[0];
    /** A removed node is dropped once it answered this round, the first to carry the commit of its removal. */
    private long removalCommitSeq = Long.MAX_VALUE;

    ReplicationHandler(final Engine engine)
    {
        this.engine = engine;
    }

    /** New leader: every follower starts probing at the leader's next index (§5.3). */
    void resetAll()
    {
        peers = new Progress[0];
        syncPeers();
        for (final Progress p : peers)
        {
            p.reset(engine.log.lastIndex() + 1, engine.nowNanos);
        }
    }

    /**
     * Matches the followers tracked to the effective membership. A node the membership just
     * removed stays tracked until it holds the entry that removes it, so that it learns it is out
     * and stops standing for election.
     */
    void syncPeers()
    {
        final Membership m = engine.memberships.effective();
        final long removalIndex = engine.memberships.effectiveIndex();
        final long[] nodes = m.allNodes();
        final Progress[] next = new Progress[nodes.length + peers.length];
        int n = 0;
        for (final long node : nodes)
        {
            if (node == engine.self)
            {
                continue;
            }
            Progress p = find(node);
            if (p == null)
            {
                // Probe from the membership entry that adds the node: it holds nothing of it yet.
                p = new Progress(node, engine.config.maxInflightAppends());
                p.reset(Math.max(engine.log.purgedIndex() + 1, engine.log.lastIndex()), engine.nowNanos);
            }
            next[n++] = p;
        }
        for (final Progress p : peers)
        {
            if (!m.contains(p.nodeId) && !removalKnown(p, removalIndex))
            {
                next[n++] = p;
            }
        }
        peers = Arrays.copyOf(next, n);
    }

    /** The membership changed: removed nodes are kept until they know their removal committed. */
    void onMembershipChanged()
    {
        removalCommitSeq = Long.MAX_VALUE;
        syncPeers();
    }

    /** The commit index advanced: if it covers the membership entry, the next round tells removed nodes. */
    void onCommit()
    {
        if (removalCommitSeq == Long.MAX_VALUE && engine.committedIndex >= engine.memberships.effectiveIndex())
        {
            removalCommitSeq = engine.leaderHandler.seq + 1;
        }
    }

    private boolean removalKnown(final Progress p, final long removalIndex)
    {
        return p.matchIndex >= removalIndex && p.ackedSeq >= removalCommitSeq;
    }

    void clear()
    {
        peers = new Progress[0];
    }

    void replicateAll()
    {
        for (final Progress p : peers)
        {
            sendAppends(p);
        }
    }

    /**
     * A heartbeat to every follower: an AppendEntries from the follower's match point with no
     * entries, which always passes the consistency check and carries the commit index and the
     * broadcast round. Unanswered requests older than two heartbeat intervals are resent. A member
     * silent for an election timeout also gets an introduction (see {@link #introduceIfSilent}).
     */
    void heartbeatAll()
    {
        final long now = engine.nowNanos;
        final long retransmitAfter = 2 * engine.config.heartbeatIntervalNanos();
        dropSilentRemoved();
        for (final Progress p : peers)
        {
            if (p.inflight() > 0 && now - p.oldestInflightSentNanos() >= retransmitAfter)
            {
                p.clearInflight();
                p.pipelining = false;
                p.nextIndex = p.matchIndex + 1;
            }
            final long prevIndex = Math.max(p.matchIndex, engine.log.purgedIndex());
            engine.output.replicate(p.nodeId, engine.vote.term(), engine.log.termAt(prevIndex), prevIndex,
                prevIndex + 1, prevIndex + 1, engine.committedIndex, engine.leaderHandler.seq);
            engine.snapshotHandler.onHeartbeat(p);
            sendAppends(p);
            introduceIfSilent(p, now);
        }
    }

    /**
     * Tells a member that has not answered for an election timeout where this leader is, at most
     * once per heartbeat interval: cut off while the membership changed, it may hold a
     * configuration that does not name this leader, and a network that accepts only known members
     * would drop everything this leader sends it ({@link Introduce}). Nothing is sent if the
     * membership records no endpoint of this leader.
     */
    private void introduceIfSilent(final Progress p, final long now)
    {
        if (now - p.lastAckNanos < engine.config.electionTimeoutMinNanos() ||
            now - p.introducedNanos < engine.config.heartbeatIntervalNanos())
        {
            return;
        }
        final Membership m = engine.memberships.effective();
        final String endpoint = m.contains(p.nodeId) ? m.endpoints().get(engine.self) : null;
        if (endpoint == null || endpoint.isBlank())
        {
            return;
        }
        p.introducedNanos = now;
        engine.output.send(new Introduce(engine.self, p.nodeId, engine.vote.term(), endpoint));
    }

    /**
     * A removed node that has not answered for an election timeout is gone or cut off: it is not
     * waited for any longer (the members drop its messages; it learns of its removal from a later
     * leader's log or never needs to).
     */
    private void dropSilentRemoved()
    {
        final Membership m = engine.memberships.effective();
        final long silentFor = engine.config.electionTimeoutMaxNanos();
        int kept = 0;
        for (final Progress p : peers)
        {
            if (m.contains(p.nodeId) || engine.nowNanos - p.lastAckNanos <= silentFor)
            {
                peers[kept++] = p;
            }
        }
        if (kept < peers.length)
        {
            peers = Arrays.copyOf(peers, kept);
        }
    }

    /** Sends what the window allows of the entries the follower lacks. */
    void sendMore(final Progress p)
    {
        sendAppends(p);
    }

    private void sendAppends(final Progress p)
    {
        if (engine.snapshotHandler.needsSnapshot(p))
        {
            return;
        }
        final long last = engine.log.lastIndex();
        final int maxEntries = engine.config.maxEntriesPerAppend();
        while (p.nextIndex <= last && p.canSend())
        {
            final long from = p.nextIndex;
            final long to = Math.min(last + 1, from + maxEntries);
            final long prevIndex = from - 1;
            engine.output.replicate(p.nodeId, engine.vote.term(), engine.log.termAt(prevIndex), prevIndex,
                from, to, engine.committedIndex, engine.leaderHandler.seq);
            p.addInflight(to - 1, engine.nowNanos);
            p.nextIndex = to;
        }
    }

    void onAppendEntriesResponse(final AppendEntriesResponse response)
    {
        if (engine.stepDownIfNewerTerm(response.term(), Vote.NO_NODE))
        {
            return;
        }
        if (engine.role != Role.LEADER || response.term() != engine.vote.term())
        {
            return;
        }
        final Progress p = find(response.from());
        if (p == null)
        {
            return;
        }
        if (response.seq() > engine.leaderHandler.seq || response.success() && response.matchIndex() > engine.log.lastIndex())
        {
            // A round not started yet, or a match beyond this leader's log: an answer to no request
            // sent. Acting on it would count a read round or commit entries no follower holds.
            engine.dropInput(InputDropReason.UNSOLICITED_RESPONSE, response);
            return;
        }
        engine.observeGap(engine.nowNanos - p.lastAckNanos);
        p.lastAckNanos = engine.nowNanos;
        if (response.seq() > p.ackedSeq)
        {
            p.ackedSeq = response.seq();
        }
        if (response.success())
        {
            onSuccess(p, response.matchIndex());
        }
        else
        {
            onReject(p, response);
        }
        engine.readHandler.onAck();
        engine.membershipHandler.check();
        engine.transferHandler.check();
    }

    private void onSuccess(final Progress p, final long matched)
    {
        if (matched > p.matchIndex)
        {
            p.matchIndex = matched;
            if (p.nextIndex <= matched)
            {
                p.nextIndex = matched + 1;
            }
            p.ackInflight(matched);
            if (!p.pipelining)
            {
                p.pipelining = true;
                // Requests sent while probing beyond the match are not tracked as a pipeline.
                p.clearInflight();
                p.nextIndex = matched + 1;
            }
            engine.leaderHandler.advanceCommit();
            if (engine.role != Role.LEADER)
            {
                return;
            }
        }
        if (!engine.memberships.effective().contains(p.nodeId) && removalKnown(p, engine.memberships.effectiveIndex()))
        {
            syncPeers(); // the removed node knows its removal committed: stop replicating to it
            return;
        }
        if (!p.pipelining && p.inflight() == 0 && p.nextIndex > p.matchIndex + 1)
        {
            // Probing with nothing in flight, and the follower holds no more than its match:
            // whatever was sent beyond it was lost, so probe again from there.
            p.nextIndex = p.matchIndex + 1;
        }
        sendAppends(p);
    }

    private void onReject(final Progress p, final AppendEntriesResponse response)
    {
        final long rejectedPrev = response.matchIndex();
        if (p.snapshotting || rejectedPrev <= p.matchIndex || rejectedPrev >= p.nextIndex)
        {
            return; // stale: about a request older than what is known to match
        }
        long next;
        if (response.conflictTerm() > 0)
        {
            final long lastOfTerm = engine.log.lastIndexOf(response.conflictTerm());
            next = lastOfTerm > 0 ? lastOfTerm + 1 : response.conflictIndex();
        }
        else
        {
            next = response.conflictIndex();
        }
        next = Math.max(p.matchIndex + 1, Math.min(next, rejectedPrev));
        p.pipelining = false;
        p.clearInflight();
        p.nextIndex = next;
        sendAppends(p);
    }

    Progress progress(final long node)
    {
        return find(node);
    }

    /** @return the last broadcast round {@code node} answered, or -1 if it is not a follower */
    long ackedSeq(final long node)
    {
        final Progress p = find(node);
        return p == null ? -1 : p.ackedSeq;
    }

    long matchIndex(final long node)
    {
        final Progress p = find(node);
        return p == null ? 0 : p.matchIndex;
    }

    /** @return true if a quorum (this leader included) answered at or after {@code sinceNanos} */
    boolean quorumAckedSince(final long sinceNanos)
    {
        return engine.memberships.effective().isQuorum(node ->
        {
            if (node == engine.self)
            {
                return true;
            }
            final Progress p = find(node);
            return p != null && p.lastAckNanos >= sinceNanos;
        });
    }

    /** @return true if a quorum (this leader included) answered broadcast round {@code seq} or a later one */
    boolean quorumAckedSeq(final long seq)
    {
        return engine.memberships.effective().isQuorum(node ->
        {
            if (node == engine.self)
            {
                return true;
            }
            final Progress p = find(node);
            return p != null && p.ackedSeq >= seq;
        });
    }

    private Progress find(final long node)
    {
        for (final Progress p : peers)
        {
            if (p.nodeId == node)
            {
                return p;
            }
        }
        return null;
    }
}

package io.ringraft.engine;

import io.ringraft.LogId;
import io.ringraft.Vote;
import io.ringraft.network.InstallSnapshotRequest;
import io.ringraft.network.InstallSnapshotResponse;
import io.ringraft.storage.SnapshotMeta;

/**
 * Snapshots and log compaction (Raft §7): purging the log behind a snapshot (keeping a tail for
 * followers that lag a little), sending a snapshot in chunks to a follower that needs purged
 * entries (one chunk in flight, resumed from the offset the follower reports, resent when
 * unanswered), and installing a received snapshot on a follower.
 */
final class SnapshotHandler
{
    private final Engine engine;
    private SnapshotMeta latest;

    SnapshotHandler(final Engine engine, final SnapshotMeta latest)
    {
        this.engine = engine;
        this.latest = latest;
    }

    SnapshotMeta latest()
    {
        return latest;
    }

    /** The state machine wrote a snapshot: remember it and purge the log behind it. */
    void onSnapshotBuilt(final SnapshotMeta meta)
    {
        if (meta.lastIncluded().index() > engine.appliedIndex)
        {
            throw new IllegalArgumentException("snapshot " + meta.snapshotId() + " covers " + meta.lastIncluded() +
                ", beyond the applied index " + engine.appliedIndex);
        }
        if (latest == null || meta.lastIncluded().index() >= latest.lastIncluded().index())
        {
            latest = meta; // the newest built replaces an older one at the same index in the store
        }
        purgeUpTo(latest.lastIncluded().index() - engine.config.logRetainEntries());
    }

    /** Purges the log up to {@code index}, at most up to the latest snapshot (a test's {@link TestControl#purgeLog}). */
    void purgeUpTo(final long index)
    {
        final long upTo = latest == null ? 0 : Math.min(index, latest.lastIncluded().index());
        if (upTo > engine.log.purgedIndex() && upTo <= engine.log.lastIndex())
        {
            final LogId purged = new LogId(engine.log.termAt(upTo), upTo);
            engine.output.purgeLog(purged);
            engine.log.purge(purged);
            engine.memberships.purge(upTo, null);
        }
    }

    // ---------------------------------------------------------------------------------------
    // Leader side

    /** @return true if the follower needs entries that are purged, and a snapshot was started or is under way */
    boolean needsSnapshot(final Progress p)
    {
        if (p.snapshotting)
        {
            return true;
        }
        if (p.nextIndex > engine.log.purgedIndex() || latest == null)
        {
            return false;
        }
        p.snapshotting = true;
        p.snapshotMeta = latest;
        p.snapshotOffset = 0;
        p.clearInflight();
        p.pipelining = false;
        sendChunk(p);
        return true;
    }

    private void sendChunk(final Progress p)
    {
        p.snapshotSentNanos = engine.nowNanos;
        engine.output.sendSnapshotChunk(p.nodeId, engine.vote.term(), p.snapshotMeta, p.snapshotOffset);
    }

    /** With each heartbeat: resend an unanswered chunk (from the start with the latest snapshot if a newer one exists). */
    void onHeartbeat(final Progress p)
    {
        if (p.snapshotting && engine.nowNanos - p.snapshotSentNanos >= 2 * engine.config.heartbeatIntervalNanos())
        {
            if (p.snapshotMeta != latest)
            {
                p.snapshotMeta = latest;
                p.snapshotOffset = 0;
            }
            sendChunk(p);
        }
    }

    void onInstallSnapshotResponse(final InstallSnapshotResponse response)
    {
        if (engine.stepDownIfNewerTerm(response.term(), Vote.NO_NODE) || engine.role != Role.LEADER ||
            response.term() != engine.vote.term())
        {
            return;
        }
        final Progress p = engine.replicationHandler.progress(response.from());
        if (p == null || !p.snapshotting || !p.snapshotMeta.snapshotId().equals(response.snapshotId()))
        {
            return;
        }
        if (response.nextOffset() < 0 || response.nextOffset() > p.snapshotMeta.sizeBytes())
        {
            engine.dropInput(InputDropReason.UNSOLICITED_RESPONSE, response);
            return;
        }
        p.lastAckNanos = engine.nowNanos;
        if (response.done())
        {
            p.snapshotting = false;
            p.matchIndex = Math.max(p.matchIndex, p.snapshotMeta.lastIncluded().index());
            p.nextIndex = p.matchIndex + 1;
            p.snapshotMeta = null;
            engine.leaderHandler.advanceCommit();
            engine.replicationHandler.sendMore(p);
        }
        else if (response.nextOffset() != p.snapshotOffset)
        {
            p.snapshotOffset = response.nextOffset();
            sendChunk(p);
        }
    }

    // ---------------------------------------------------------------------------------------
    // Follower side

    void onInstallSnapshot(final InstallSnapshotRequest request)
    {
        if (!wellFormed(request))
        {
            engine.dropInput(InputDropReason.SNAPSHOT_MALFORMED, request);
            return;
        }
        final long term = engine.vote.term();
        if (request.term() < term)
        {
            engine.output.send(new InstallSnapshotResponse(engine.self, request.from(), term, request.meta().snapshotId(), 0, false));
            return;
        }
        final LogId last = request.meta().lastIncluded();
        final long localTerm = engine.log.termAt(last.index());
        if (last.index() <= engine.committedIndex && localTerm >= 0 && localTerm != last.term())
        {
            // Every leader holds the committed entries (§5.4): a snapshot that contradicts one is forged.
            engine.dropInput(InputDropReason.SNAPSHOT_CONFLICTS_COMMITTED, request);
            return;
        }
        if (!engine.followingHandler.acceptLeader(request))
        {
            return;
        }
        engine.output.storeSnapshotChunk(request);
    }

    /** @return true if a leader could have sent this chunk: a valid id, a membership, the chunk within the size */
    private static boolean wellFormed(final InstallSnapshotRequest request)
    {
        final SnapshotMeta meta = request.meta();
        final byte[] chunk = request.chunk();
        return meta != null && meta.lastIncluded() != null && meta.membership() != null && SnapshotMeta.isValidId(meta.snapshotId()) &&
            meta.lastIncluded().term() <= request.term() && meta.sizeBytes() >= 0 && request.offset() >= 0 && chunk != null &&
            request.offset() <= meta.sizeBytes() - chunk.length;
    }

    /**
     * The executor stored a chunk.
     *
     * @param leader     who sent it
     * @param meta       the snapshot
     * @param nextOffset the offset expected next
     * @param complete   true once the whole snapshot is stored, checked and committed
     */
    void onChunkStored(final long leader, final SnapshotMeta meta, final long nextOffset, final boolean complete)
    {
        if (complete)
        {
            install(meta);
        }
        engine.output.send(new InstallSnapshotResponse(engine.self, leader, engine.vote.term(), meta.snapshotId(), nextOffset, complete));
    }

    private void install(final SnapshotMeta meta)
    {
        final LogId last = meta.lastIncluded();
        if (latest == null || last.index() > latest.lastIncluded().index())
        {
            latest = meta; // stored as the newest snapshot, whether installed or not
        }
        if (last.index() <= engine.appliedIndex)
        {
            return; // the state machine is already there
        }
        if (engine.log.termAt(last.index()) != last.term() && engine.log.lastIndex() > engine.committedIndex)
        {
            // The log does not hold the snapshot's last entry: the snapshot replaces everything after
            // what is known committed here (some of it may be committed elsewhere: outcome unknown).
            engine.truncate(engine.committedIndex + 1, true);
        }
        engine.output.installSnapshot(meta);
        engine.log.purge(last);
        engine.memberships.purge(last.index(), meta.membership());
        engine.committedIndex = Math.max(engine.committedIndex, last.index());
        engine.appliedIndex = Math.max(engine.appliedIndex, last.index());
        engine.flushedIndex = Math.max(engine.flushedIndex, Math.min(last.index(), engine.log.lastIndex()));
        engine.onMembershipReplaced();
    }
}

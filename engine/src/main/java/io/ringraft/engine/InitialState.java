package io.ringraft.engine;

import io.ringraft.EntryType;
import io.ringraft.LogId;
import io.ringraft.Membership;
import io.ringraft.Vote;
import io.ringraft.storage.RaftLogStorage;
import io.ringraft.storage.SnapshotMeta;
import org.agrona.collections.LongArrayList;

import java.util.ArrayList;
import java.util.List;

/**
 * What an {@link Engine} starts from: the persisted vote, the shape of the persisted log (its
 * term boundaries, not its payloads) and its membership entries, the snapshot, and what the
 * state machine already reflects.
 */
public final class InitialState
{
    final Vote vote;
    final LogId lastPurged;
    final LogId lastLog;
    /** The first log id of each term present in the log, in order. */
    final List<LogId> termStarts;
    /** Every membership entry in the log, in order. */
    final List<LogId> membershipIds;
    final List<Membership> memberships;
    /** The membership of the snapshot, if any; null otherwise. */
    final Membership snapshotMembership;
    final LogId lastApplied;
    /** The latest snapshot, or null. */
    final SnapshotMeta snapshot;

    private InitialState(final Vote vote, final LogId lastPurged, final LogId lastLog, final List<LogId> termStarts,
        final List<LogId> membershipIds, final List<Membership> memberships, final Membership snapshotMembership,
        final LogId lastApplied, final SnapshotMeta snapshot)
    {
        this.snapshot = snapshot;
        this.vote = vote;
        this.lastPurged = lastPurged;
        this.lastLog = lastLog;
        this.termStarts = termStarts;
        this.membershipIds = membershipIds;
        this.memberships = memberships;
        this.snapshotMembership = snapshotMembership;
        this.lastApplied = lastApplied;
    }

    /** @return the state of a node that has never run */
    public static InitialState pristine()
    {
        return new InitialState(Vote.INITIAL, LogId.ZERO, LogId.ZERO, List.of(), List.of(), List.of(), null, LogId.ZERO, null);
    }

    /**
     * Reads the vote and scans the log (its ids and membership entries) to restart a node.
     *
     * @param storage     the node's log
     * @param snapshot    its latest snapshot, or null
     * @param lastApplied what the state machine already reflects ({@link LogId#ZERO} if volatile)
     * @return the state to start the engine from
     */
    public static InitialState load(final RaftLogStorage storage, final SnapshotMeta snapshot, final LogId lastApplied)
    {
        reconcileWithSnapshot(storage, snapshot);
        final Vote vote = storage.readVote();
        final LogId lastPurged = storage.lastPurgedLogId();
        final LogId lastLog = storage.lastLogId();
        final List<LogId> termStarts = new ArrayList<>();
        final List<LogId> membershipIds = new ArrayList<>();
        final List<Membership> memberships = new ArrayList<>();
        final LongArrayList lastTerm = new LongArrayList();
        lastTerm.addLong(lastPurged.term());
        if (lastLog.index() > lastPurged.index())
        {
            storage.read(lastPurged.index() + 1, lastLog.index() + 1, (term, index, type, buffer, offset, length) ->
            {
                if (term != lastTerm.getLong(0) || termStarts.isEmpty() && index == lastPurged.index() + 1)
                {
                    termStarts.add(new LogId(term, index));
                    lastTerm.setLong(0, term);
                }
                if (type == EntryType.MEMBERSHIP)
                {
                    final byte[] bytes = new byte[length];
                    buffer.getBytes(offset, bytes);
                    membershipIds.add(new LogId(term, index));
                    memberships.add(Membership.decode(bytes));
                }
                return true;
            });
        }
        if (lastApplied.index() < lastPurged.index())
        {
            throw new IllegalStateException("state machine at " + lastApplied + " is behind the purged log " + lastPurged +
                (snapshot != null ? ": install snapshot " + snapshot.snapshotId() + " into it first" : " and there is no snapshot"));
        }
        if (snapshot != null && snapshot.lastIncluded().index() < lastPurged.index())
        {
            throw new IllegalStateException("snapshot " + snapshot.snapshotId() + " at " + snapshot.lastIncluded() +
                " is behind the purged log " + lastPurged);
        }
        final Membership snapshotMembership = snapshot == null ? null : snapshot.membership();
        return new InitialState(vote, lastPurged, lastLog, termStarts, membershipIds, memberships, snapshotMembership, lastApplied,
            snapshot);
    }

    /**
     * A node may apply, and snapshot, entries that a quorum made durable before its own log did;
     * after a crash its durable log can then end before the snapshot, or hold a stale entry where
     * the snapshot has a committed one. The snapshot wins: the log keeps only what follows it.
     */
    private static void reconcileWithSnapshot(final RaftLogStorage storage, final SnapshotMeta snapshot)
    {
        if (snapshot == null)
        {
            return;
        }
        final LogId covered = snapshot.lastIncluded();
        final LogId purged = storage.lastPurgedLogId();
        final LogId last = storage.lastLogId();
        if (covered.index() <= purged.index())
        {
            return;
        }
        final boolean logHoldsIt = covered.index() <= last.index() && storage.entry(covered.index()).term() == covered.term();
        if (!logHoldsIt)
        {
            if (last.index() > purged.index())
            {
                storage.truncateSuffix(purged.index() + 1);
            }
            storage.purgePrefix(covered);
            storage.flush();
        }
    }

    /** @return the persisted vote */
    public Vote vote()
    {
        return vote;
    }

    /** @return the last log id */
    public LogId lastLog()
    {
        return lastLog;
    }
}

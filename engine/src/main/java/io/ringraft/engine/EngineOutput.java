package io.ringraft.engine;

import io.ringraft.EntryBatch;
import io.ringraft.LogId;
import io.ringraft.Vote;
import io.ringraft.network.InstallSnapshotRequest;
import io.ringraft.network.RaftMessage;
import io.ringraft.storage.SnapshotMeta;


/**
 * The one port through which the {@link Engine} acts on the world. The runtime and the simulator
 * are two implementations. The engine calls it synchronously from inside its input methods; an
 * implementation executes each command in the order given, and a command that persists
 * something ({@link #saveVote}) completes before the next command is executed.
 */
public interface EngineOutput
{
    /**
     * Persist the vote durably before executing any later command (a vote is granted only
     * after it is durable, Raft Figure 2).
     *
     * @param vote the vote to save
     */
    void saveVote(Vote vote);

    /**
     * Append entries the engine made or received (a leader's blank or membership entry, a
     * follower's replicated entries). Durability is reported later through
     * {@link Engine#onLogFlushed(long)}.
     *
     * @param entries contiguous entries; a view valid only during the call (copy what is kept)
     * @param from    the position in {@code entries} of the first one to append, which follows
     *                the current last entry; those before it are already in the log
     */
    void appendEntries(EntryBatch entries, int from);

    /**
     * Append the {@code count} client payloads handed to the {@link Engine#clientWrite(int)}
     * call now running, as {@link io.ringraft.EntryType#NORMAL} entries.
     *
     * @param term       their term
     * @param firstIndex the index of the first one
     * @param count      how many
     */
    void appendClientEntries(long term, long firstIndex, int count);

    /**
     * Remove the log suffix from {@code fromIndex} on: a follower's entries that conflict with
     * the leader's log. They are definitely not committed (the leader holds every committed
     * entry, and holds other entries there), so writes waiting on them failed for certain.
     *
     * @param fromIndex the first index to remove
     */
    void truncateLog(long fromIndex);

    /**
     * Remove the log suffix from {@code fromIndex} on because an installed snapshot replaces it.
     * Unlike {@link #truncateLog}, some of these entries may be committed (the snapshot holds
     * them): writes waiting on them have an unknown outcome, never a certain failure.
     *
     * @param fromIndex the first index to remove
     */
    default void discardLog(final long fromIndex)
    {
        truncateLog(fromIndex);
    }

    /**
     * Send a message that the engine built (votes, responses, timeout-now).
     *
     * @param message the message; the engine reuses its {@link io.ringraft.network.AppendEntriesResponse},
     *                so an executor that keeps the message (to send later, to deliver in a
     *                simulation) keeps {@link RaftMessage#copy()}
     */
    void send(RaftMessage message);

    /**
     * Send an AppendEntries to {@code peer} carrying the local log's entries in
     * {@code [fromIndex, toIndexExclusive)}; an empty range is a heartbeat.
     *
     * @param peer             the follower
     * @param term             the leader's term
     * @param prevLogTerm      the term of the entry before {@code fromIndex}
     * @param prevLogIndex     {@code fromIndex - 1}
     * @param fromIndex        the first index to carry
     * @param toIndexExclusive one past the last
     * @param leaderCommit     the leader's commit index
     * @param seq              the broadcast round to echo
     */
    void replicate(long peer, long term, long prevLogTerm, long prevLogIndex, long fromIndex, long toIndexExclusive, long leaderCommit, long seq);

    /**
     * Entries up to {@code toIndex} are committed: apply those after the last applied one, in
     * index order. Calls come with increasing, contiguous ranges.
     *
     * @param fromIndex the first index to apply
     * @param toIndex   the last index to apply, inclusive
     */
    void apply(long fromIndex, long toIndex);

    /**
     * A ReadIndex read is confirmed: answer it once the state machine has applied
     * {@code readIndex}.
     *
     * @param readId    the id the caller gave {@link Engine#readIndex(long)}
     * @param readIndex the index the read must observe
     */
    void readIndexReady(long readId, long readIndex);

    /**
     * A ReadIndex read cannot be confirmed here.
     *
     * @param readId   the id the caller gave
     * @param leaderId the leader if known, else {@link io.ringraft.Vote#NO_NODE}
     */
    void readIndexFailed(long readId, long leaderId);

    /**
     * The node's role, term or known leader changed (for metrics and for failing calls that
     * need a leader).
     *
     * @param role     the new role
     * @param term     the current term
     * @param leaderId the known leader or {@link io.ringraft.Vote#NO_NODE}
     */
    default void roleChanged(final Role role, final long term, final long leaderId)
    {
    }

    /**
     * Send {@code peer} the chunk of snapshot {@code meta} that starts at {@code offset}, as an
     * {@link InstallSnapshotRequest} ({@code done} on the last chunk). The executor picks the
     * chunk size. If that snapshot is gone, send nothing: the engine retries with its latest.
     *
     * @param peer   the follower
     * @param term   the leader's term
     * @param meta   the snapshot
     * @param offset where the chunk starts
     */
    default void sendSnapshotChunk(final long peer, final long term, final SnapshotMeta meta, final long offset)
    {
        throw new IllegalStateException("this executor does not transfer snapshots");
    }

    /**
     * Store a received snapshot chunk, then report what is stored with
     * {@link Engine#onSnapshotChunkStored}: chunks at the expected offset are written, others
     * ignored; a complete snapshot is checked against its checksum and committed to the snapshot
     * store before it is reported complete. A complete snapshot that is not newer than the store's
     * latest is not committed (the store keeps only its newest) but reported complete all the same:
     * the engine installs nothing at or behind its applied index.
     *
     * @param request the chunk
     */
    default void storeSnapshotChunk(final InstallSnapshotRequest request)
    {
        throw new IllegalStateException("this executor does not receive snapshots");
    }

    /**
     * Replace the state machine's state with the received snapshot {@code meta} (after every entry
     * already handed to {@link #apply}), and purge the log up to its last included id.
     *
     * @param meta a snapshot committed to the snapshot store
     */
    default void installSnapshot(final SnapshotMeta meta)
    {
        throw new IllegalStateException("this executor does not install snapshots");
    }

    /**
     * Remove the log entries up to and including {@code upTo}: a snapshot covers them.
     *
     * @param upTo the last id to remove
     */
    default void purgeLog(final LogId upTo)
    {
        throw new IllegalStateException("this executor does not purge logs");
    }

    /**
     * The outcome of an administration request (membership change, learner, leader transfer).
     *
     * @param requestId the caller's id
     * @param status    an {@link io.ringraft.AdminStatus} code
     * @param index     the log index of the committed membership entry, or 0
     * @param leaderId  the known leader, for {@link io.ringraft.AdminStatus#NOT_LEADER}
     * @param message   what happened, for failures
     */
    default void adminResult(final long requestId, final int status, final long index, final long leaderId, final String message)
    {
        throw new IllegalStateException("this executor does not run administration requests");
    }

    /**
     * The engine dropped a message from another node that no correct peer sends (see
     * {@link InputDropReason}); it has counted it already. For the runtime's counters and log; the
     * default does nothing.
     *
     * @param reason  why
     * @param message the message; valid only during the call
     */
    default void inputDropped(final InputDropReason reason, final RaftMessage message)
    {
    }

    /**
     * A leader of the current term or a later one introduced itself
     * ({@link io.ringraft.network.Introduce}): if no membership this node holds names
     * {@code node}, let the network accept its messages and reach it at {@code endpoint}, so that
     * its AppendEntries arrive and the answers go back; nothing else changes (the engine decides on
     * terms and votes when the leader's messages arrive). The default does nothing: a network that
     * reaches every node needs no address.
     *
     * @param node     the leader
     * @param term     its term, at least this node's
     * @param endpoint its endpoint as its membership records it (not blank)
     */
    default void introduced(final long node, final long term, final String endpoint)
    {
    }
}

package io.ringraft.statemachine;

import io.ringraft.LogId;
import io.ringraft.storage.SnapshotMeta;
import io.ringraft.storage.SnapshotReader;
import io.ringraft.storage.SnapshotWriter;
import org.agrona.DirectBuffer;
import org.agrona.MutableDirectBuffer;

/**
 * The application's replicated state. The node calls it from one thread at a time (the
 * state-machine agent's, and the snapshot thread's for {@link #buildSnapshot}), with the
 * committed entries in index order, each exactly once per lifetime of the instance: a batch is a
 * sequence of {@link #apply} calls ended by {@link #onBatchEnd}.
 * <p>
 * Blank and membership entries are not passed to {@link #apply}; {@link #onBatchEnd} reports
 * the applied point including them, so a durable state machine can record it.
 */
public interface RaftStateMachine
{
    /**
     * The point the state already reflects when the node starts: {@link LogId#ZERO} for a state
     * machine kept in memory, or the point of the snapshot or durable state it was loaded from.
     * The node applies entries after it.
     *
     * @return the last applied log id
     */
    LogId lastApplied();

    /**
     * Applies one committed command.
     *
     * @param index    its log index
     * @param term     its term
     * @param payload  the command bytes; valid only during this call
     * @param offset   where they start
     * @param length   how many
     * @param response where to write the response for the caller (grows as needed)
     * @return the length of the response written at offset 0 of {@code response}
     */
    int apply(long index, long term, DirectBuffer payload, int offset, int length, MutableDirectBuffer response);

    /**
     * Ends a batch of applies; a place to group-commit durable state.
     *
     * @param lastAppliedIndex the index of the last entry now applied, including blank and
     *                         membership entries
     * @param lastAppliedTerm  its term
     */
    default void onBatchEnd(final long lastAppliedIndex, final long lastAppliedTerm)
    {
    }

    /**
     * Writes the whole state as of the last applied entry. Called on the node's snapshot thread
     * ({@code RaftConfig.snapshotExecutor}), never while an entry is applied: the node applies
     * nothing until this returns, and the call is ordered after the last apply and before the next.
     *
     * @param writer where to write it
     */
    void buildSnapshot(SnapshotWriter writer);

    /**
     * Captures the state as of the last applied entry, on the state machine's own thread (between two applies),
     * for a snapshot that is then written on the snapshot thread while the node goes on applying: the pause is
     * the capture (a copy of the state, or a copy-on-write view), not the whole write. The default captures
     * nothing: the node then calls {@link #buildSnapshot} and applies nothing until it returns.
     *
     * @return the captured state, or null to have {@link #buildSnapshot} write the live state instead
     */
    default CapturedSnapshot captureSnapshot()
    {
        return null;
    }

    /**
     * Replaces the whole state with a snapshot's.
     *
     * @param meta   what the snapshot covers; afterwards {@link #lastApplied()} is its last included id
     * @param reader its data
     */
    void installSnapshot(SnapshotMeta meta, SnapshotReader reader);
}

package io.ringraft.statemachine;

import io.ringraft.storage.SnapshotWriter;

/**
 * A point-in-time copy of a state machine's state ({@link RaftStateMachine#captureSnapshot()}), written out on
 * the node's snapshot thread while the state machine goes on applying entries. It must not read the live
 * state: only what it captured.
 */
@FunctionalInterface
public interface CapturedSnapshot
{
    /**
     * Writes the captured state, as {@link RaftStateMachine#buildSnapshot} would have written it then.
     *
     * @param writer where to write it
     */
    void writeTo(SnapshotWriter writer);
}

package io.ringraft.testkit.sim;

import io.ringraft.LogId;
import io.ringraft.Membership;
import io.ringraft.storage.InMemorySnapshotStore;
import io.ringraft.storage.SnapshotMeta;
import io.ringraft.storage.SnapshotReader;
import io.ringraft.storage.SnapshotWriter;
import io.ringraft.testkit.history.OpKind;
import io.ringraft.testkit.history.Operation;
import io.ringraft.testkit.kv.KvCommand;
import io.ringraft.statemachine.KvStateMachine;
import org.agrona.ExpandableArrayBuffer;
import org.agrona.concurrent.UnsafeBuffer;
import org.junit.jupiter.api.Test;

import java.util.Arrays;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;

/** The simulator's key-value state machine and its command codec. */
final class KvStateMachineTest
{
    private final KvStateMachine kv = new KvStateMachine();
    private final ExpandableArrayBuffer response = new ExpandableArrayBuffer(64);
    private long index;

    private String apply(final KvCommand command)
    {
        final byte[] payload = command.encode();
        index++;
        final int length = kv.apply(index, 1, new UnsafeBuffer(payload), 0, payload.length, response);
        return KvStateMachine.decodeResult(response, length);
    }

    @Test
    void commandsRoundTripThroughTheCodec()
    {
        final KvCommand cas = new KvCommand(OpKind.CAS, 7, 123456789L, "key", "new", null);
        assertEquals(cas, KvCommand.decode(cas.encode()));
        final KvCommand put = new KvCommand(OpKind.PUT, 1, 2, "ключ", "värde", "ignored");
        assertEquals(put, KvCommand.decode(put.encode()));
        final byte[] truncated = Arrays.copyOf(put.encode(), 16);
        assertThrows(IllegalArgumentException.class, () -> KvCommand.decode(truncated));
    }

    @Test
    void registerSemantics()
    {
        assertNull(apply(new KvCommand(OpKind.GET, 1, 1, "a", null, null)));
        assertEquals(Operation.CAS_FALSE, apply(new KvCommand(OpKind.CAS, 1, 2, "a", "x", "y")));
        assertEquals(Operation.CAS_TRUE, apply(new KvCommand(OpKind.CAS, 1, 3, "a", "x", null)));
        assertEquals("x", apply(new KvCommand(OpKind.GET, 1, 4, "a", null, null)));
        assertNull(apply(new KvCommand(OpKind.PUT, 1, 5, "a", "z", null)));
        assertEquals(Operation.CAS_TRUE, apply(new KvCommand(OpKind.CAS, 1, 6, "a", "w", "z")));
        assertEquals("w", kv.get("a"));
        assertNull(apply(new KvCommand(OpKind.DELETE, 1, 7, "a", null, null)));
        assertNull(kv.get("a"));
        assertEquals(7, kv.appliedCount());
        assertEquals(7, kv.appliedIndex(6));
        assertEquals(1, kv.appliedTerm(6));
    }

    @Test
    void refusesToApplyOutOfOrder()
    {
        apply(new KvCommand(OpKind.PUT, 1, 1, "a", "1", null));
        index = 0;
        assertThrows(IllegalStateException.class, () -> apply(new KvCommand(OpKind.PUT, 1, 2, "a", "2", null)));
    }

    @Test
    void snapshotRestoresTheMapAndTheAppliedPoint()
    {
        apply(new KvCommand(OpKind.PUT, 1, 1, "a", "1", null));
        apply(new KvCommand(OpKind.PUT, 1, 2, "b", "2", null));
        apply(new KvCommand(OpKind.PUT, 1, 3, "c", "3", null));
        apply(new KvCommand(OpKind.DELETE, 1, 4, "b", null, null));
        kv.onBatchEnd(4, 1);
        try (InMemorySnapshotStore store = new InMemorySnapshotStore())
        {
            final SnapshotMeta meta;
            try (SnapshotWriter writer = store.create(new SnapshotMeta(new LogId(1, 4), Membership.of(1, 2, 3), "1-4-1", -1, 0)))
            {
                kv.buildSnapshot(writer);
                meta = writer.commit();
            }
            final KvStateMachine restored = new KvStateMachine();
            try (SnapshotReader reader = store.open(meta))
            {
                restored.installSnapshot(meta, reader);
            }
            assertEquals(Map.of("a", "1", "c", "3"), restored.snapshotOfMap());
            assertEquals(new LogId(1, 4), restored.lastApplied());
            final byte[] next = new KvCommand(OpKind.PUT, 1, 5, "d", "4", null).encode();
            assertThrows(IllegalStateException.class, () -> restored.apply(4, 1, new UnsafeBuffer(next), 0, next.length, response));
            restored.apply(5, 1, new UnsafeBuffer(next), 0, next.length, response);
            assertEquals("4", restored.get("d"));
        }
    }
}

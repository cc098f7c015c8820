package io.ringraft.statemachine;

import io.ringraft.LogId;
import io.ringraft.Membership;
import io.ringraft.storage.SnapshotMeta;
import io.ringraft.storage.SnapshotReader;
import io.ringraft.storage.SnapshotWriter;
import io.ringraft.storage.InMemorySnapshotStore;
import org.agrona.ExpandableArrayBuffer;
import org.agrona.concurrent.UnsafeBuffer;
import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The one key-value state machine (the simulator's and the example service's). */
class KvStateMachineTest
{
    private final ExpandableArrayBuffer response = new ExpandableArrayBuffer(64);
    private long index;

    @Test
    void putGetDeleteAndCompareAndSet()
    {
        final KvStateMachine sm = new KvStateMachine();
        assertEquals(KvStateMachine.OK, apply(sm, KvStateMachine.PUT, "k", "v1", null));
        assertEquals("v1", text(sm.value("k")));
        assertEquals(KvStateMachine.OK, apply(sm, KvStateMachine.PUT, "k", "v2", null));
        assertEquals("v2", text(sm.value("k")));

        assertEquals(KvStateMachine.CAS_FAILED, apply(sm, KvStateMachine.CAS, "k", "v3", "v1"));
        assertEquals("v2", responseValue(), "a refused CAS answers the current value");
        assertEquals("v2", text(sm.value("k")));
        assertEquals(KvStateMachine.OK, apply(sm, KvStateMachine.CAS, "k", "v3", "v2"));
        assertEquals("v3", text(sm.value("k")));

        assertEquals(KvStateMachine.CAS_FAILED, apply(sm, KvStateMachine.CAS, "new", "x", "something"));
        assertNull(sm.value("new"));
        assertEquals(KvStateMachine.OK, apply(sm, KvStateMachine.CAS, "new", "x", null), "expected absent, and it is");
        assertEquals("x", text(sm.value("new")));

        assertEquals(KvStateMachine.OK, apply(sm, KvStateMachine.DELETE, "k", null, null));
        assertNull(sm.value("k"));
        assertEquals(KvStateMachine.NOT_FOUND, apply(sm, KvStateMachine.DELETE, "k", null, null));
        sm.onBatchEnd(index, 1);
        assertEquals(index, sm.digest().appliedIndex());
        assertEquals(1, sm.digest().size());
        assertEquals(KvStateMachine.entryHash("new", bytes("x")), sm.digest().contentHash());
    }

    @Test
    void digestsAgreeExactlyWhenTheSequencesAgree()
    {
        final KvStateMachine a = new KvStateMachine();
        final KvStateMachine b = new KvStateMachine();
        final KvStateMachine c = new KvStateMachine();
        for (int i = 0; i < 100; i++)
        {
            final long at = index;
            apply(a, KvStateMachine.PUT, "k" + (i % 7), "v" + i, null);
            index = at;
            apply(b, KvStateMachine.PUT, "k" + (i % 7), "v" + i, null);
            index = at;
            // c applies the same commands, but two of them in the other order: same map, different history.
            apply(c, KvStateMachine.PUT, "k" + (i % 7), "v" + (i == 50 ? 51 : i == 51 ? 50 : i), null);
        }
        a.onBatchEnd(index, 1);
        b.onBatchEnd(index, 1);
        c.onBatchEnd(index, 1);
        assertTrue(a.digest().sameStateAs(b.digest()));
        assertFalse(a.digest().sameStateAs(c.digest()));
        assertEquals(a.digest().size(), c.digest().size());
    }

    @Test
    void snapshotRestoresTheMapAndTheDigest()
    {
        final KvStateMachine sm = new KvStateMachine();
        for (int i = 0; i < 1000; i++)
        {
            apply(sm, KvStateMachine.PUT, "key-" + i, "value-" + i + "-".repeat(i % 50), null);
        }
        apply(sm, KvStateMachine.DELETE, "key-7", null, null);
        final LogId last = new LogId(3, index);
        sm.onBatchEnd(last.index(), last.term());

        final KvStateMachine restored = restore(last, sm::buildSnapshot);
        assertEquals(last, restored.lastApplied());
        assertEquals(sm.digest(), restored.digest());
        assertEquals(sm.snapshotOfMap(), restored.snapshotOfMap());
        assertNull(restored.value("key-7"));

        // It goes on from there exactly as the original does.
        final long at = index;
        apply(sm, KvStateMachine.PUT, "after", "1", null);
        index = at;
        apply(restored, KvStateMachine.PUT, "after", "1", null);
        sm.onBatchEnd(index, 3);
        restored.onBatchEnd(index, 3);
        assertEquals(sm.digest(), restored.digest());
    }

    @Test
    void aCaptureIsTheStateAtTheCaptureWhateverIsAppliedBeforeItIsWritten()
    {
        final KvStateMachine sm = new KvStateMachine();
        for (int i = 0; i < 100; i++)
        {
            apply(sm, KvStateMachine.PUT, "key-" + i, "value-" + i, null);
        }
        final LogId last = new LogId(2, index);
        sm.onBatchEnd(last.index(), last.term());
        final KvDigest atCapture = sm.digest();
        final Object mapAtCapture = sm.snapshotOfMap();
        final CapturedSnapshot captured = sm.captureSnapshot();
        // Applied after the capture, before it is written (the snapshot thread writes while the node applies).
        apply(sm, KvStateMachine.PUT, "key-1", "changed", null);
        apply(sm, KvStateMachine.DELETE, "key-2", null, null);
        apply(sm, KvStateMachine.PUT, "new", "1", null);
        sm.onBatchEnd(index, 2);
        final KvStateMachine restored = restore(last, captured);
        assertEquals(atCapture, restored.digest());
        assertEquals(mapAtCapture, restored.snapshotOfMap());
        assertEquals("value-1", new String(restored.value("key-1"), java.nio.charset.StandardCharsets.UTF_8));
    }

    @Test
    void equalStatesGiveEqualSnapshotsWhateverTheOrderTheKeysCameIn()
    {
        // "Aa" and "BB" (and their concatenations) share one String hash: the order must not depend on the map.
        final java.util.List<String> keys = new java.util.ArrayList<>(java.util.List.of("AaAa", "BBBB", "AaBB", "BBAa", "Aa", "BB"));
        for (int i = 0; i < 500; i++)
        {
            keys.add("key-" + i);
        }
        final KvStateMachine forwards = new KvStateMachine();
        keys.forEach(k -> apply(forwards, KvStateMachine.PUT, k, "v-" + k, null));
        final java.util.List<String> shuffled = new java.util.ArrayList<>(keys);
        java.util.Collections.shuffle(shuffled, new java.util.Random(42));
        final KvStateMachine shuffledSm = new KvStateMachine();
        index = 0;
        shuffled.forEach(k -> apply(shuffledSm, KvStateMachine.PUT, k, "v-" + k, null));

        final byte[] a = snapshotBytes(forwards);
        final byte[] b = snapshotBytes(shuffledSm);
        // The chain hash differs (the commands came in another order): compare everything after it.
        assertEquals(a.length, b.length);
        assertTrue(java.util.Arrays.equals(a, 24, a.length, b, 24, b.length), "the entries are written in one order");

        final String[] array = keys.toArray(new String[0]);
        final int[] order = KvStateMachine.contentOrder(array, array.length);
        for (int i = 1; i < order.length; i++)
        {
            final String previous = array[order[i - 1]];
            final String current = array[order[i]];
            assertTrue(previous.hashCode() < current.hashCode() || previous.hashCode() == current.hashCode() && previous.compareTo(current) < 0,
                previous + " before " + current);
        }
    }

    private static byte[] snapshotBytes(final KvStateMachine sm)
    {
        final ExpandableArrayBuffer out = new ExpandableArrayBuffer(1024);
        final int[] length = new int[1];
        sm.captureSnapshot().writeTo(new SnapshotWriter()
        {
            @Override
            public void write(final org.agrona.DirectBuffer buffer, final int offset, final int n)
            {
                out.putBytes(length[0], buffer, offset, n);
                length[0] += n;
            }

            @Override
            public long position()
            {
                return length[0];
            }

            @Override
            public SnapshotMeta commit()
            {
                throw new UnsupportedOperationException("not a store");
            }

            @Override
            public void abort()
            {
            }

            @Override
            public void close()
            {
            }
        });
        final byte[] bytes = new byte[length[0]];
        out.getBytes(0, bytes);
        return bytes;
    }

    /** @return a new state machine that installed the snapshot {@code snapshot} writes (through an in-memory store) */
    private static KvStateMachine restore(final LogId last, final CapturedSnapshot snapshot)
    {
        try (InMemorySnapshotStore store = new InMemorySnapshotStore())
        {
            final SnapshotMeta meta;
            try (SnapshotWriter writer = store.create(new SnapshotMeta(last, Membership.of(1, 2, 3), "snap-" + last.index(), -1, 0)))
            {
                snapshot.writeTo(writer);
                meta = writer.commit();
            }
            final KvStateMachine restored = new KvStateMachine();
            try (SnapshotReader reader = store.open(meta))
            {
                restored.installSnapshot(meta, reader);
            }
            return restored;
        }
    }

    private int apply(final KvStateMachine sm, final byte kind, final String key, final String value, final String expected)
    {
        final ExpandableArrayBuffer command = new ExpandableArrayBuffer(64);
        final int length = KvStateMachine.encodeCommand(command, 0, kind, 1, ++index, bytes(key), value == null ? null : bytes(value),
            expected == null ? null : bytes(expected));
        sm.apply(index, 1, command, 0, length, response);
        return response.getByte(0);
    }

    private String responseValue()
    {
        final int length = response.getInt(2);
        return length < 0 ? null : response.getStringWithoutLengthUtf8(KvStateMachine.RESPONSE_HEADER, length);
    }

    private static byte[] bytes(final String s)
    {
        return s.getBytes(StandardCharsets.UTF_8);
    }

    private static String text(final byte[] b)
    {
        return b == null ? null : new String(b, StandardCharsets.UTF_8);
    }
}

package io.ringraft.server.kv;

import io.ringraft.LogId;
import io.ringraft.Membership;
import io.ringraft.storage.SnapshotMeta;
import io.ringraft.storage.SnapshotReader;
import io.ringraft.storage.SnapshotWriter;
import io.ringraft.storage.chronicle.FileSnapshotStore;
import org.agrona.ExpandableArrayBuffer;
import org.agrona.concurrent.UnsafeBuffer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

class KvStateMachineTest
{
    private final ExpandableArrayBuffer response = new ExpandableArrayBuffer(64);
    private long index;

    @Test
    void putGetDeleteAndCompareAndSet()
    {
        final KvStateMachine sm = new KvStateMachine();
        assertEquals(KvProtocol.OK, apply(sm, KvProtocol.PUT, "k", "v1", null));
        assertEquals("v1", text(sm.get("k")));
        assertEquals(KvProtocol.OK, apply(sm, KvProtocol.PUT, "k", "v2", null));
        assertEquals("v2", text(sm.get("k")));

        assertEquals(KvProtocol.CAS_FAILED, apply(sm, KvProtocol.CAS, "k", "v3", "v1"));
        assertEquals("v2", responseValue(), "a refused CAS answers the current value");
        assertEquals("v2", text(sm.get("k")));
        assertEquals(KvProtocol.OK, apply(sm, KvProtocol.CAS, "k", "v3", "v2"));
        assertEquals("v3", text(sm.get("k")));

        assertEquals(KvProtocol.CAS_FAILED, apply(sm, KvProtocol.CAS, "new", "x", "something"));
        assertNull(sm.get("new"));
        assertEquals(KvProtocol.OK, apply(sm, KvProtocol.CAS, "new", "x", null), "expected absent, and it is");
        assertEquals("x", text(sm.get("new")));

        assertEquals(KvProtocol.OK, apply(sm, KvProtocol.DELETE, "k", null, null));
        assertNull(sm.get("k"));
        assertEquals(KvProtocol.NOT_FOUND, apply(sm, KvProtocol.DELETE, "k", null, null));
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
            apply(a, KvProtocol.PUT, "k" + (i % 7), "v" + i, null);
            index = at;
            apply(b, KvProtocol.PUT, "k" + (i % 7), "v" + i, null);
            index = at;
            // c applies the same commands, but two of them in the other order: same map, different history.
            apply(c, KvProtocol.PUT, "k" + (i % 7), "v" + (i == 50 ? 51 : i == 51 ? 50 : i), null);
        }
        a.onBatchEnd(index, 1);
        b.onBatchEnd(index, 1);
        c.onBatchEnd(index, 1);
        assertTrue(a.digest().sameStateAs(b.digest()));
        assertFalse(a.digest().sameStateAs(c.digest()));
        assertEquals(a.digest().size(), c.digest().size());
    }

    @Test
    void snapshotRestoresTheMapAndTheDigest(@TempDir final Path dir)
    {
        final KvStateMachine sm = new KvStateMachine();
        for (int i = 0; i < 1000; i++)
        {
            apply(sm, KvProtocol.PUT, "key-" + i, "value-" + i + "-".repeat(i % 50), null);
        }
        apply(sm, KvProtocol.DELETE, "key-7", null, null);
        final LogId last = new LogId(3, index);
        sm.onBatchEnd(last.index(), last.term());

        final SnapshotMeta meta;
        try (FileSnapshotStore store = FileSnapshotStore.open(dir))
        {
            try (SnapshotWriter writer = store.create(new SnapshotMeta(last, Membership.of(1, 2, 3), "3-" + index, -1, 0)))
            {
                sm.buildSnapshot(writer);
                meta = writer.commit();
            }
            final KvStateMachine restored = new KvStateMachine();
            try (SnapshotReader reader = store.open(meta))
            {
                restored.installSnapshot(meta, reader);
            }
            assertEquals(last, restored.lastApplied());
            assertEquals(sm.digest(), restored.digest());
            final Map<String, byte[]> expected = sm.copyOfMap();
            final Map<String, byte[]> actual = restored.copyOfMap();
            assertEquals(expected.keySet(), actual.keySet());
            expected.forEach((k, v) -> assertArrayEquals(v, actual.get(k), k));
            assertNull(restored.get("key-7"));

            // It goes on from there exactly as the original does.
            final long at = index;
            apply(sm, KvProtocol.PUT, "after", "1", null);
            index = at;
            apply(restored, KvProtocol.PUT, "after", "1", null);
            sm.onBatchEnd(index, 3);
            restored.onBatchEnd(index, 3);
            assertEquals(sm.digest(), restored.digest());
        }
    }

    private int apply(final KvStateMachine sm, final byte op, final String key, final String value, final String expected)
    {
        final byte[] k = bytes(key);
        final byte[] v = value == null ? null : bytes(value);
        final byte[] e = expected == null ? null : bytes(expected);
        final UnsafeBuffer src = new UnsafeBuffer(new byte[k.length + (v == null ? 0 : v.length) + (e == null ? 0 : e.length)]);
        src.putBytes(0, k);
        if (v != null)
        {
            src.putBytes(k.length, v);
        }
        if (e != null)
        {
            src.putBytes(k.length + (v == null ? 0 : v.length), e);
        }
        final ExpandableArrayBuffer command = new ExpandableArrayBuffer(64);
        final int length = KvProtocol.encodeCommand(command, op, 1, ++index, src, 0, k.length, k.length, v == null ? -1 : v.length,
            k.length + (v == null ? 0 : v.length), e == null ? -1 : e.length);
        sm.apply(index, 1, command, 0, length, response);
        return response.getByte(0);
    }

    private String responseValue()
    {
        final int length = response.getInt(1);
        return length < 0 ? null : response.getStringWithoutLengthUtf8(5, length);
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

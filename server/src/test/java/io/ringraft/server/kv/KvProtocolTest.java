package io.ringraft.server.kv;

import io.ringraft.service.Cluster;
import io.ringraft.statemachine.KvStateMachine;
import org.agrona.ExpandableArrayBuffer;
import org.agrona.concurrent.UnsafeBuffer;
import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

/** The key-value service's commands and queries, without a cluster. */
class KvProtocolTest
{
    private final ExpandableArrayBuffer out = new ExpandableArrayBuffer(256);
    private long index;

    @Test
    void writesGoThroughTheStateMachineAndQueriesReadItsMap()
    {
        final KvService service = new KvService();
        service.onStart(new FixedCluster());
        assertEquals(KvStateMachine.OK, write(service, KvProtocol.PUT, "k", "v1", null));
        assertEquals(KvStateMachine.CAS_FAILED, write(service, KvProtocol.CAS, "k", "v2", "other"));
        assertEquals("v1", valueOfGet(service, "k"));
        assertEquals(KvStateMachine.OK, write(service, KvProtocol.DELETE, "k", null, null));
        assertNull(valueOfGet(service, "k"));

        final byte[] digest = KvProtocol.digestQuery();
        final int length = service.onQuery(new UnsafeBuffer(digest), 0, digest.length, out, 3);
        assertEquals(KvProtocol.DIGEST_LONGS * 8, length);
        assertEquals(index, out.getLong(3), "the digest's applied index is the last command's log index");
        assertEquals(3, out.getLong(11), "commands applied");
    }

    @Test
    void valueAnswersRoundTrip()
    {
        final int length = KvProtocol.writeValue(out, 5, "abc".getBytes(StandardCharsets.UTF_8));
        assertArrayEquals("abc".getBytes(StandardCharsets.UTF_8), KvProtocol.readValue(out, 5, length));
        assertNull(KvProtocol.readValue(out, 0, KvProtocol.writeValue(out, 0, null)));
        assertNull(KvProtocol.readValue(out, 5, 3), "truncated");
    }

    private String valueOfGet(final KvService service, final String key)
    {
        final byte[] q = KvProtocol.getQuery(key);
        final int length = service.onQuery(new UnsafeBuffer(q), 0, q.length, out, 16);
        final byte[] value = KvProtocol.readValue(out, 16, length);
        return value == null ? null : new String(value, StandardCharsets.UTF_8);
    }

    private int write(final KvService service, final byte op, final String key, final String value, final String expected)
    {
        final ExpandableArrayBuffer command = new ExpandableArrayBuffer(64);
        final int length = KvStateMachine.encodeCommand(command, 0, KvProtocol.kind(op), 0, 0, key.getBytes(StandardCharsets.UTF_8),
            value == null ? null : value.getBytes(StandardCharsets.UTF_8), expected == null ? null : expected.getBytes(StandardCharsets.UTF_8));
        index += 2;
        service.onCommand(1, index, 0, command, 0, length, out, 8);
        return out.getByte(8);
    }

    /** The host's view with the log index the test sets. */
    private final class FixedCluster implements Cluster
    {
        @Override
        public long nodeId()
        {
            return 1;
        }

        @Override
        public long clusterTimeNs()
        {
            return 0;
        }

        @Override
        public long logIndex()
        {
            return index;
        }

        @Override
        public boolean scheduleTimer(final long timerId, final long deadlineNs)
        {
            return false;
        }

        @Override
        public boolean cancelTimer(final long timerId)
        {
            return false;
        }

        @Override
        public int sessionCount()
        {
            return 0;
        }
    }
}

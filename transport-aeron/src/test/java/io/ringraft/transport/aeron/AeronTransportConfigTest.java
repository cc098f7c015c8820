package io.ringraft.transport.aeron;

import io.aeron.exceptions.ConfigurationException;
import org.junit.jupiter.api.Test;

import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class AeronTransportConfigTest
{
    private static AeronTransportConfig valid()
    {
        return new AeronTransportConfig().nodeId(1).endpoints(Map.of(1L, "127.0.0.1:9001", 2L, "[::1]:9002"))
            .termLength(64 * 1024).embeddedDriver(true);
    }

    @Test
    void concludeFillsTheMaxMessageLengthFromTheTermLength()
    {
        final AeronTransportConfig config = valid().conclude();
        assertEquals(8192, config.maxMessageLength());
        assertTrue(config.isConcluded());
        assertEquals(1024, valid().maxMessageLength(1024).conclude().maxMessageLength());
    }

    @Test
    void eachBadSettingIsNamedWithItsValue()
    {
        assertRejected(valid().nodeId(0), "nodeId=0");
        assertRejected(valid().nodeId(3), "must contain this node's own endpoint (nodeId=3)");
        assertRejected(valid().endpoint(2, "localhost"), "node 2 endpoint=localhost must be host:port");
        assertRejected(valid().endpoint(2, "localhost:"), "node 2 endpoint=localhost: must be host:port");
        assertRejected(valid().endpoint(2, "localhost:http"), "endpoint=localhost:http has a port that is not a number");
        assertRejected(valid().endpoint(2, "localhost:70000"), "endpoint=localhost:70000 port must be 1..65535");
        assertRejected(valid().endpoint(-2, "localhost:7000"), "node id -2 must be > 0");
        assertRejected(valid().termLength(100_000), "termLength=100000 must be a power of two");
        assertRejected(valid().termLength(32 * 1024), "termLength=32768");
        assertRejected(valid().maxMessageLength(8193), "maxMessageLength=8193 must be from 1024 to 8192");
        assertRejected(valid().mtu(1000), "mtu=1000 must be 0 (auto) or a multiple of 32 from 1024 to 65504");
        assertRejected(valid().mtu(16384), "mtu=16384 must be at most the term length / 8 (8192 with a term length of 65536)");
        assertRejected(valid().maxMessageLength(100), "maxMessageLength=100");
        assertRejected(valid().embeddedDriver(false).aeronDirectoryName(null), "aeronDirectoryName=null");
        final org.agrona.concurrent.AgentInvoker driver = new org.agrona.concurrent.AgentInvoker(Throwable::printStackTrace, null,
            new org.agrona.concurrent.Agent()
            {
                public int doWork()
                {
                    return 0;
                }

                public String roleName()
                {
                    return "a driver";
                }
            });
        assertRejected(valid().invoker(true).externalDriverInvoker(driver),
            "externalDriverInvoker needs invoker=true and an external driver (invoker=true, embeddedDriver=true)");
        assertRejected(valid().externalDriver("/dev/shm/x").externalDriverInvoker(driver), "(invoker=false, embeddedDriver=false)");
        assertTrue(valid().externalDriver("/dev/shm/x").invoker(true).externalDriverInvoker(driver).conclude().isConcluded());
    }

    private static void assertRejected(final AeronTransportConfig config, final String expected)
    {
        final ConfigurationException ex = assertThrows(ConfigurationException.class, config::conclude);
        assertTrue(ex.getMessage().contains(expected), () -> "'" + ex.getMessage() + "' should contain '" + expected + "'");
    }
}

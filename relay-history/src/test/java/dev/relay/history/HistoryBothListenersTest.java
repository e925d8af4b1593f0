package dev.relay.history;

import static org.assertj.core.api.Assertions.assertThat;

import dev.relay.core.queue.QueueListener;
import java.lang.reflect.Method;
import org.junit.jupiter.api.Test;

class HistoryBothListenersTest {
    @Test
    void forwardsEveryMethodOfTheQueueListener() throws Exception {
        for (Method m : QueueListener.class.getDeclaredMethods()) {
            if (java.lang.reflect.Modifier.isStatic(m.getModifiers())) {
                continue;
            }
            assertThat(BothListeners.class.getDeclaredMethod(m.getName(), m.getParameterTypes()))
                    .as("BothListeners forwards %s", m).isNotNull();
        }
    }
}

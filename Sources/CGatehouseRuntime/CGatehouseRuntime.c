#include "CGatehouseRuntime.h"

// Defined by libswift_Concurrency (a function pointer, null until someone installs a hook).
extern void *swift_task_enqueueGlobal_hook;

void *_Nullable *_Nonnull gatehouse_task_enqueue_global_hook_slot(void) {
    return &swift_task_enqueueGlobal_hook;
}

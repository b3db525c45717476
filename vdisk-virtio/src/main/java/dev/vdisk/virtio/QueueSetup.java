package dev.vdisk.virtio;

/**
 * Where the driver put one virtqueue, as a transport learned it (PCI common config registers, or
 * vhost-user's VRING_NUM/ADDR/BASE messages). Addresses are guest-physical.
 *
 * @param index queue index
 * @param size number of entries (a power of two for split queues)
 * @param descAddr descriptor table
 * @param driverAddr driver area (split: available ring)
 * @param deviceAddr device area (split: used ring)
 * @param nextAvail index of the next available entry the device will consume (0 on a fresh queue;
 *     vhost-user's VRING_BASE after a reconnect)
 * @param nextUsed index of the next used entry the device will write (normally equal to nextAvail
 *     when nothing is in flight)
 */
public record QueueSetup(
    int index,
    int size,
    long descAddr,
    long driverAddr,
    long deviceAddr,
    int nextAvail,
    int nextUsed) {}

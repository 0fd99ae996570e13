// Defaults shared by berthd and the berth CLI, so the two cannot drift apart.

/** Where berthd listens and the CLI connects when nothing else is said (as Docker's /var/run/docker.sock). */
export const DEFAULT_HOST = 'unix:///run/berth/berth.sock';

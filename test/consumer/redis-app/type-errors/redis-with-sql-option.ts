import { SessionModule } from 'nest-server-session';

// The options are a union keyed on `type`: an option of another store (sql's table) must not compile.
export const mixed = SessionModule.forRoot({ type: 'redis', secret: 's', url: 'redis://127.0.0.1:6379', table: 'sessions' });

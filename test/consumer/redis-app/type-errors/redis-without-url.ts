import { SessionModule } from 'nest-server-session';

// A redis store without its url: the options are a union keyed on `type`, so this must not compile.
export const withoutUrl = SessionModule.forRoot({ type: 'redis', secret: 's' });

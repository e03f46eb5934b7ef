import { jobscopeHandler } from '../../../lib/jobscope';

// GraphQL (HTTP and SSE), the worker endpoints QStash calls, health and metrics: /jobscope/….
export { jobscopeHandler as GET, jobscopeHandler as POST };
